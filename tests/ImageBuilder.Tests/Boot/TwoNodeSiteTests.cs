// The two-node site of README.md, end to end: both images built with no network, both VMs on a LAN of their own.
using System.Diagnostics;

namespace Appliance.ImageBuilder.Tests.Boot;

/// <summary>
/// Runs <c>scripts/build-site.sh</c> (its preparation, then its builds inside <c>unshare -n</c>, so the builds run in a
/// network namespace with nothing in it) and <c>scripts/run-site.sh</c> as a user would, then checks with kubectl through
/// the server's forwarded API port: both nodes Ready with the profiles' addresses, the auto-deployed DaemonSet on both
/// from the preloaded image, Services reached across the nodes by their cluster DNS names, and the agent's plug pulled:
/// NotReady, its pod re-created on the server, and back with the same node object and no manual step.
/// </summary>
[Collection("appliance-boot")]
[Trait("Category", "Boot")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TwoNodeSiteTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, string> Addresses = new() { ["site-server"] = "10.77.0.10", ["site-agent"] = "10.77.0.11" };

    private string _kubeconfig = "";
    private int _port;

    [Fact]
    public void Site_BuiltOffline_BothNodesReady_DaemonSetOnBoth_ServicesAcrossNodes_AgentLostAndBack()
    {
        BootTestSupport.RequireTools("qemu-system-x86_64", "kubectl", "unshare");
        if (!File.Exists(BootTestSupport.ReleaseArchive))
            Assert.Skip($"the runtime release {BootTestSupport.ReleaseArchive} is not published: bash kits/runtime/publish.sh");
        using var tmp = new TempDir("two-node-site-");
        var outDir = Path.Combine(tmp.Path, "out");
        _port = BootTestSupport.FreePort();
        var env = new Dictionary<string, string?>
        {
            ["OUT"] = outDir, ["APPLIANCE_STORE"] = Path.Combine(tmp.Path, "store"), ["APPLIANCE_RUNTIME_IMAGE"] = BootTestSupport.ReleaseArchive,
            ["PORT"] = _port.ToString(), ["LAN_PORT"] = BootTestSupport.FreePort().ToString(), ["TIMEOUT"] = "900",
        };
        var script = (string name) => Path.Combine(BootTestSupport.RepoRoot, "scripts", name);
        var sw = Stopwatch.StartNew();
        Run("bash", [script("build-site.sh"), "--prepare"], env, TimeSpan.FromMinutes(20));
        output.WriteLine($"build-site.sh --prepare: {sw.Elapsed.TotalSeconds:F0} s");
        // The builds alone, with no network at all: inside this namespace there is only a loopback that is down.
        sw.Restart();
        var build = Run("unshare", ["-n", "--", "bash", script("build-site.sh"), "--build"], env, TimeSpan.FromMinutes(20));
        output.WriteLine($"build-site.sh --build under unshare -n: {sw.Elapsed.TotalSeconds:F0} s\n{build.Out}");
        var site = Path.Combine(outDir, "site");
        _kubeconfig = Path.Combine(site, "site-server.kubeconfig");
        foreach (var name in new[] { "site-server", "site-agent" })
        {
            var img = new FileInfo(Path.Combine(site, name + ".img"));
            output.WriteLine($"figure: {name}.img: {img.Length} bytes ({img.Length / 1048576.0:F1} MiB)");
        }
        var server = Path.Combine(site, "run", "server");
        var agent = Path.Combine(site, "run", "agent");
        try
        {
            sw.Restart();
            var up = Run("bash", [script("run-site.sh")], env, TimeSpan.FromMinutes(20));
            output.WriteLine($"run-site.sh: {sw.Elapsed.TotalSeconds:F0} s\n{up.Out}{up.Error}");

            // Both nodes Ready, each with its profile's address as INTERNAL-IP.
            var nodes = Nodes();
            Assert.Equal(Addresses.Keys.Order(), nodes.Keys.Order());
            foreach (var (name, (ip, isReady, _)) in nodes)
            {
                Assert.Equal(Addresses[name], ip);
                Assert.Equal("True", isReady);
            }
            var wide = Kubectl("get", "nodes", "-o", "wide");
            output.WriteLine(wide);
            Assert.Matches(@"site-server\s+Ready\s+.*\s10\.77\.0\.10\s", wide);
            Assert.Matches(@"site-agent\s+Ready\s+.*\s10\.77\.0\.11\s", wide);

            // The DaemonSet from the server's manifests, a ready pod on each node, from the preloaded image.
            Assert.Equal("2 2", Kubectl("get", "daemonset", "node-hello", "-o", "jsonpath={.status.desiredNumberScheduled} {.status.numberAvailable}").Trim());
            var ds = PodsOn("node-hello");
            Assert.Equal(Addresses.Keys.Order(), ds.Keys.Order());

            // A pod on the agent reaches the Service whose pod is on the server by its cluster DNS name, and the reverse.
            Eventually(() => Kubectl("exec", ds["site-agent"], "--", "sh", "-c", "timeout 20 wget -q -O - http://web-server.default.svc.cluster.local"),
                a => a.Contains("web-server on site-server"), "the agent's pod reaching web-server.default.svc.cluster.local");
            Eventually(() => Kubectl("exec", ds["site-server"], "--", "sh", "-c", "timeout 20 wget -q -O - http://web-agent.default.svc.cluster.local"),
                a => a.Contains("web-agent on site-agent"), "the server's pod reaching web-agent.default.svc.cluster.local");

            // appliance-runtime's resident memory in each VM, read on its console.
            var rss = Run("bash", [script("run-site.sh"), "--rss"], env, TimeSpan.FromMinutes(2)).Out;
            output.WriteLine("figure: " + rss.Trim().Replace("\n", "; "));
            Assert.Matches(@"server: appliance-runtime VmRSS \d+ kB", rss);
            Assert.Matches(@"agent: appliance-runtime VmRSS \d+ kB", rss);

            // The agent is lost: its plug pulled.
            var before = nodes["site-agent"].Uid;
            // The server is Ready first and may have placed both roaming pods before the agent joined; one deleted is
            // re-created on the node with the fewest of them, the agent.
            if (RoamingOn("site-agent") == "")
                Kubectl("delete", "pod", RoamingOn("site-server"), "--wait=false");
            var roaming = Eventually(() => RoamingOn("site-agent"), a => a.StartsWith("roaming-", StringComparison.Ordinal), "a roaming pod running on the agent");
            output.WriteLine($"roaming pod on the agent: {roaming}");
            Run("bash", [script("run-site.sh"), "--agent-off"], env, TimeSpan.FromMinutes(1));
            sw.Restart();
            var ready = Eventually(() => Nodes()["site-agent"].Ready, r => r != "True", "the agent's node not Ready", TimeSpan.FromMinutes(3));
            output.WriteLine($"figure: agent plug pulled to node NotReady (Ready={ready}): {sw.Elapsed.TotalSeconds:F0} s");
            Eventually(() => Kubectl("get", "pods", "-l", "app=roaming", "--field-selector", "spec.nodeName=site-server,status.phase=Running", "-o", "name"),
                a => a.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 2, "both roaming pods running on the server", TimeSpan.FromMinutes(3));
            output.WriteLine($"figure: agent plug pulled to its roaming pod re-created and running on the server: {sw.Elapsed.TotalSeconds:F0} s");
            // The pod on the lost node was evicted: deleted (Terminating until its kubelet is back), or gone.
            var evicted = Kubectl("get", "pods", "-l", "app=roaming", "-o", "jsonpath={range .items[*]}{.metadata.name} {.metadata.deletionTimestamp}{\"\\n\"}{end}");
            Assert.DoesNotMatch($"(?m)^{roaming} $", evicted);

            // Powered on again: the same node (name and object), Ready, its DaemonSet pod running again, no manual step.
            sw.Restart();
            var back = Run("bash", [script("run-site.sh"), "--agent-on"], env, TimeSpan.FromMinutes(15));
            output.WriteLine($"run-site.sh --agent-on: {sw.Elapsed.TotalSeconds:F0} s\n{back.Out}{back.Error}");
            nodes = Nodes();
            Assert.Equal(before, nodes["site-agent"].Uid);
            Assert.Equal(("10.77.0.11", "True"), (nodes["site-agent"].Ip, nodes["site-agent"].Ready));
            // The pod evicted while the agent was away is finished by its kubelet once it is back.
            Eventually(() => Kubectl("get", "pods", "-o", "name"), a => !a.Contains(roaming), $"{roaming} gone", TimeSpan.FromMinutes(3));
            output.WriteLine(Kubectl("get", "pods", "-A", "-o", "wide"));
            Run("bash", [script("run-site.sh"), "--stop"], env, TimeSpan.FromMinutes(5));
        }
        finally
        {
            foreach (var run in new[] { agent, server })
                BootTestSupport.StopVm(Path.Combine(run, "qemu.pid"));
            foreach (var run in new[] { server, agent })
                if (File.Exists(Path.Combine(run, "console.log")))
                    output.WriteLine($"--- {run}/console.log (last 30 lines)\n" + string.Join('\n', File.ReadAllLines(Path.Combine(run, "console.log")).TakeLast(30)));
        }
    }

    /// <summary>Each node's InternalIP, Ready status and object uid.</summary>
    private Dictionary<string, (string Ip, string Ready, string Uid)> Nodes() =>
        Kubectl("get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.addresses[?(@.type==\"InternalIP\")].address} {.status.conditions[?(@.type==\"Ready\")].status} {.metadata.uid}{\"\\n\"}{end}")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).Where(f => f.Length == 4)
            .ToDictionary(f => f[0], f => (f[1], f[2], f[3]));

    /// <summary>The ready pods of app=<paramref name="app"/>, by node.</summary>
    private Dictionary<string, string> PodsOn(string app) =>
        Kubectl("get", "pods", "-l", "app=" + app, "-o", "jsonpath={range .items[*]}{.spec.nodeName} {.metadata.name} {.status.containerStatuses[0].ready}{\"\\n\"}{end}")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).Where(f => f.Length == 3 && f[2] == "true")
            .ToDictionary(f => f[0], f => f[1]);

    private string RoamingOn(string node) =>
        Kubectl("get", "pods", "-l", "app=roaming", "--field-selector", $"spec.nodeName={node},status.phase=Running", "-o", "jsonpath={.items[*].metadata.name}").Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";

    /// <summary>Calls <paramref name="get"/> every 3 s until <paramref name="ok"/> holds for its answer (kubectl failures are retried), and returns it.</summary>
    private static string Eventually(Func<string> get, Func<string, bool> ok, string what, TimeSpan? within = null)
    {
        var limit = within ?? TimeSpan.FromMinutes(2);
        var deadline = DateTime.UtcNow + limit;
        var last = "";
        while (true)
        {
            try
            {
                last = get();
                if (ok(last)) return last;
            }
            catch (Xunit.Sdk.XunitException e)
            {
                last = e.Message;
            }
            if (DateTime.UtcNow > deadline) Assert.Fail($"no {what} within {limit.TotalSeconds:F0} s; last answer: {last}");
            Thread.Sleep(3000);
        }
    }

    private ProcessResult Run(string file, string[] args, IReadOnlyDictionary<string, string?>? env, TimeSpan timeout)
    {
        var r = ProcessRunner.Run(file, args, new ProcessOptions { Environment = env, Timeout = timeout, WorkingDirectory = BootTestSupport.RepoRoot });
        Assert.True(r.ExitCode == 0, $"{r.Command} exited {r.ExitCode}:\n{r.Out}\n{r.Error}");
        return r;
    }

    private string Kubectl(params string[] args) =>
        Run("kubectl", ["--kubeconfig", _kubeconfig, "--server", $"https://127.0.0.1:{_port}", "--request-timeout", "30s", .. args], null, TimeSpan.FromMinutes(1)).Out;
}
