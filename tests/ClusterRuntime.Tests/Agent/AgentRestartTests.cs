// Issue 14's restart point: an agent restart keeps containers running and skips an unchanged archive, not a replaced one.
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Appliance.Bench.Agent;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

/// <summary>
/// A real server (--disable-agent) and a real <c>appliance-runtime agent</c>, both in a network namespace the test
/// creates, with the pause image, the busybox fixture and a 200 MiB OCI archive (the agent benchmark's
/// <see cref="BigArchive"/>) in DIR/images. The agent is stopped with SIGTERM and started again on the same DIR twice.
/// </summary>
[Trait("Category", "External")]
public sealed partial class AgentRestartTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    const string Busybox = "example.local/fixtures/busybox:1.35";
    const int Layers = 4, LayerMiB = 50;

    [Fact]
    public async Task Restart_KeepsTheContainerRunning_SkipsTheUnchangedArchive_AndImportsAReplacedOneOfTheSameSize()
    {
        Support.Kubectl.RequireInstalled();
        foreach (var tool in new[] { "/usr/bin/containerd", "/usr/bin/ctr", "/usr/bin/nsenter" })
            if (!File.Exists(tool)) Assert.Skip($"{tool} is not installed (.ci/packages.d/agent.txt)");
        if (!File.Exists("/usr/sbin/runc") && !File.Exists("/usr/bin/runc")) Assert.Skip("runc is not installed (.ci/packages.d/agent.txt)");
        if (Environment.UserName != "root") Assert.Skip("network namespaces and containers need root");
        var output = TestContext.Current.TestOutputHelper;

        using var dir = new TempDir("restart-");
        var images = Directory.CreateDirectory(dir["agent/images"]).FullName;
        File.Copy(PauseImage.Archive, Path.Combine(images, "pause.oci.tar"));
        File.Copy(Path.Combine(BusyboxFixtures.Dir, "busybox.oci.tar"), Path.Combine(images, "busybox.oci.tar"));
        var big = Path.Combine(images, "big.oci.tar");
        BigArchive.Write(big, Layers, LayerMiB, seed: 1000);
        var netns = "rst-" + Guid.NewGuid().ToString("n")[..6];
        (await ProcessRunner.RunAsync("ip", ["netns", "add", netns], ct: Ct)).Ok();
        ChildProcess? server = null, agent = null;
        try
        {
            (await ProcessRunner.RunAsync("ip", ["-n", netns, "link", "set", "lo", "up"], ct: Ct)).Ok();
            var port = RuntimeProcess.FreePort();
            server = ProcessRunner.Start("/usr/bin/nsenter", [$"--net=/run/netns/{netns}", .. RuntimeProcess.CommandLine("server"),
                "--data-dir", dir["server"], "--https-listen-port", port.ToString(), "--bind-address", "127.0.0.1", "--disable-agent"]);
            Directory.CreateDirectory(dir["cache"]);
            var kubectl = new Support.Kubectl(dir["server/kubeconfig.yaml"], dir["cache"], netns);
            await Poll.UntilAsync(async () => File.Exists(dir["server/kubeconfig.yaml"]) ? (await kubectl.RunAsync("get", "--raw", "/readyz")).Out : "",
                o => o == "ok", TimeSpan.FromSeconds(60), "the server in its namespace", o => o + server.Out + server.Error);
            ChildProcess StartAgent() => ProcessRunner.Start("/usr/bin/nsenter", [$"--net=/run/netns/{netns}", .. RuntimeProcess.CommandLine("agent"),
                "--server", $"https://127.0.0.1:{port}", "--token-file", dir["server/token"], "--data-dir", dir["agent"], "--node-name", "restart-node", "--kubelet-port", "0"]);

            // First start: the three archives are imported, the node turns Ready, a pod counts in its log.
            agent = StartAgent();
            var first = await ImportSummaryAsync(agent);
            Assert.Matches($@"imported {Regex.Escape(big)} \(bench\.local/agent/big:1; ", agent.Out);
            Assert.Equal((3, 0), (first.Imported, first.Unchanged));
            await Poll.UntilAsync(async () => (await kubectl.RunAsync("get", "node", "restart-node", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}")).Out,
                o => o == "True", TimeSpan.FromSeconds(60), "the node Ready", o => o + "\nagent: " + agent.Out + agent.Error);
            var pod = Path.Combine(dir.Path, "pod.json");
            File.WriteAllText(pod, $$$"""
                {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "counter", "namespace": "default"},
                 "spec": {"terminationGracePeriodSeconds": 1, "containers": [{"name": "count", "image": "{{{Busybox}}}",
                   "command": ["/bin/sh", "-c", "i=0; while true; do i=$((i+1)); echo $i; sleep 0.2; done"]}]}}
                """);
            (await kubectl.RunAsync("create", "-f", pod)).Ok();
            var before = await RunningAsync(kubectl, agent);
            var nodeIp = (await kubectl.RunAsync("get", "node", "restart-node", "-o", InternalIp)).Ok().Out;
            Assert.DoesNotContain("10.42.", nodeIp);
            var socket = dir["agent/containerd/state/c.sock"];
            var pid = await TaskPidAsync(socket, before.Id);
            var log = dir[$"agent/pods/default_counter_{before.Uid}/count/0.log"];
            var countBefore = await Poll.UntilAsync(() => Task.FromResult(LastCount(log)), n => n >= 3, TimeSpan.FromSeconds(30), $"the counter in {log}");

            // Restart with the archives unchanged: the container keeps its ID, its process and its count.
            await StopAsync(agent);
            agent = null;
            Assert.True(Directory.Exists($"/proc/{pid}"), $"the container's process {pid} ended with the agent");
            agent = StartAgent();
            var second = await ImportSummaryAsync(agent);
            Assert.Matches($@"{Regex.Escape(big)} unchanged \(sha256 [0-9a-f]{{12}}\), not imported again", agent.Out);
            Assert.Equal((0, 3), (second.Imported, second.Unchanged));
            output?.WriteLine($"import phase: first start {first.Ms} ms (3 archives imported, {new FileInfo(big).Length >> 20} MiB), second start {second.Ms} ms (3 unchanged)");
            // Loose: the second start only hashes the archives; the first wrote 200 MiB into containerd's content store.
            Assert.True(second.Ms < first.Ms, $"the unchanged archives took {second.Ms} ms to check, the first import {first.Ms} ms");
            // The new kubelet lists the pods and syncs them once its CNI config is written; give that sync time to act.
            Assert.True(await agent.WaitUntilAsync(p => p.Out.Contains("CNI: pods get addresses from") || p.HasExited, TimeSpan.FromSeconds(60), Ct),
                "the restarted kubelet did not start:\n" + agent.Out + agent.Error);
            await Task.Delay(TimeSpan.FromSeconds(3), Ct);
            var after = await RunningAsync(kubectl, agent);
            // The node keeps its address: the pods' bridge (cni0 holds 10.42.0.1 now) is never taken for the node IP.
            Assert.Equal(nodeIp, (await kubectl.RunAsync("get", "node", "restart-node", "-o", InternalIp)).Ok().Out);
            Assert.Equal(before.Id, after.Id);
            Assert.Equal(before.StartedAt, after.StartedAt);
            Assert.Equal(0, after.Restarts);
            Assert.Equal(pid, await TaskPidAsync(socket, after.Id));
            Assert.False(File.Exists(dir[$"agent/pods/default_counter_{before.Uid}/count/1.log"]), "the container was started again");
            var countAfter = await Poll.UntilAsync(() => Task.FromResult(LastCount(log)), n => n > countBefore + 5, TimeSpan.FromSeconds(30), "the counter going on");
            Assert.Equal(Enumerable.Range(1, countAfter), Counts(log));

            // Replaced by an archive of the same size with other bytes: imported again at the next start.
            await StopAsync(agent);
            agent = null;
            var size = new FileInfo(big).Length;
            var replacement = Path.Combine(dir.Path, "big.oci.tar");
            BigArchive.Write(replacement, Layers, LayerMiB, seed: 2000);
            Assert.Equal(size, new FileInfo(replacement).Length);
            File.Move(replacement, big, overwrite: true);
            agent = StartAgent();
            var third = await ImportSummaryAsync(agent);
            Assert.Equal((1, 2), (third.Imported, third.Unchanged));
            Assert.Matches($@"imported {Regex.Escape(big)} \(bench\.local/agent/big:1; ", agent.Out);
            output?.WriteLine($"import phase after the replacement: {third.Ms} ms (1 imported, 2 unchanged)");
            Assert.Equal(before.Id, (await RunningAsync(kubectl, agent)).Id);

            // The pod goes; the agent removes its sandbox.
            (await kubectl.RunAsync("delete", "pod", "counter", "--wait=false")).Ok();
            await Poll.UntilAsync(async () => (await ProcessRunner.RunAsync("ctr", ["-a", socket, "-n", "k8s.io", "task", "ls", "-q"], ct: Ct)).Out.Trim(),
                o => o.Length == 0, TimeSpan.FromSeconds(60), "no task left");
        }
        finally
        {
            await ContainerdHost.StopNodeAsync(agent, dir["agent/containerd"], netns);
            if (server is not null)
            {
                if (!server.HasExited) await ProcessRunner.RunAsync("kill", ["-TERM", server.Id.ToString()], ct: CancellationToken.None);
                if (!await server.WaitUntilAsync(p => p.HasExited, TimeSpan.FromSeconds(30), CancellationToken.None)) server.Kill();
                await server.DisposeAsync();
            }
            await ProcessRunner.RunAsync("ip", ["netns", "delete", netns], ct: CancellationToken.None);
        }
    }

    /// <summary>The agent's "N archive(s) imported, M unchanged, 0 failed, in T ms" line of this start.</summary>
    const string InternalIp = "jsonpath={.status.addresses[?(@.type==\"InternalIP\")].address}";

    static async Task<(int Imported, int Unchanged, int Ms)> ImportSummaryAsync(ChildProcess agent)
    {
        Assert.True(await agent.WaitUntilAsync(p => Summary().IsMatch(p.Out) || p.HasExited, TimeSpan.FromSeconds(120), Ct),
            $"no import summary:\n{agent.Out}{agent.Error}");
        var m = Summary().Match(agent.Out);
        Assert.True(m.Success, $"the agent exited:\n{agent.Out}{agent.Error}");
        Assert.Equal("0", m.Groups[3].Value);
        return (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value), int.Parse(m.Groups[4].Value));
    }

    [GeneratedRegex(@"preloaded images: (\d+) archive\(s\) imported, (\d+) unchanged, (\d+) failed, in (\d+) ms")]
    private static partial Regex Summary();

    /// <summary>SIGTERM; the agent exits 0 within 30 s (containerd with it, the shims and containers stay).</summary>
    static async Task StopAsync(ChildProcess agent)
    {
        (await ProcessRunner.RunAsync("kill", ["-TERM", agent.Id.ToString()], ct: Ct)).Ok();
        Assert.True(await agent.WaitUntilAsync(p => p.HasExited, TimeSpan.FromSeconds(30), Ct), "the agent did not stop on SIGTERM");
        Assert.Equal(0, agent.ExitCode);
        await agent.DisposeAsync();
    }

    /// <summary>The pod's container once Running: its ID, start time and restart count, and the pod's UID.</summary>
    static async Task<(string Id, string StartedAt, int Restarts, string Uid)> RunningAsync(Support.Kubectl kubectl, ChildProcess agent)
    {
        var json = await Poll.UntilAsync(async () => (await kubectl.RunAsync("get", "pod", "counter", "-o", "json")).Out,
            o => o.Length > 0 && JsonNode.Parse(o)!["status"]?["containerStatuses"]?[0]?["state"]?["running"] is not null, TimeSpan.FromSeconds(90),
            "the counter pod Running", o => o + "\nagent: " + agent.Out + agent.Error);
        var pod = JsonNode.Parse(json)!;
        var c = pod["status"]!["containerStatuses"]![0]!;
        return (((string)c["containerID"]!).Replace("containerd://", ""), (string)c["state"]!["running"]!["startedAt"]!, (int)c["restartCount"]!,
            (string)pod["metadata"]!["uid"]!);
    }

    /// <summary>The host PID of the container's task, from <c>ctr task ls</c> (TASK PID STATUS).</summary>
    static async Task<int> TaskPidAsync(string socket, string containerId)
    {
        var tasks = await ContainerdHost.TasksAsync(socket);
        var row = tasks.FirstOrDefault(t => t.Id == containerId);
        if (row.Id is null) throw new InvalidOperationException($"no task {containerId}: {string.Join(", ", tasks)}");
        Assert.Equal("RUNNING", row.Status);
        return row.Pid;
    }

    /// <summary>The numbers the container printed, in order (CRI log lines: time stream tag text).</summary>
    static List<int> Counts(string log) =>
        File.Exists(log) ? [.. File.ReadAllLines(log).Select(l => l.Split(' ', 4)).Where(f => f.Length == 4 && f[2] == "F").Select(f => int.Parse(f[3]))] : [];

    static int LastCount(string log) => Counts(log) is { Count: > 0 } c ? c[^1] : 0;
}
