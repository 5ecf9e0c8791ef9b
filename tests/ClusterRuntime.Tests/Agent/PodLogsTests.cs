// End to end: a real server process proxies kubectl logs to a kubelet API server (ours, in this test) reading CRI log files.
using Appliance.Common.Pki;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Appliance.ClusterRuntime.Agent.Kubelet.Logs;
using Appliance.ClusterRuntime.Agent.KubeletApi;
using Appliance.ClusterRuntime.Pki;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

/// <summary>
/// The pod object is bound to a Node whose InternalIP and kubelet port point at a <see cref="KubeletServer"/> started
/// here with a serving certificate from the server's CA; the log files are written by the test in CRI format where the
/// pod worker would put them. No container runs: the path server → kubelet → files is the real one.
/// </summary>
[Trait("Category", "External")]
public sealed class PodLogsTests
{
    static string Record(DateTimeOffset t, string tag, string text) => $"{t:yyyy-MM-ddTHH:mm:ss.fffffff}00Z stdout {tag} {text}\n";

    [Fact]
    public async Task KubectlLogsReadsTheKubeletsFilesThroughTheApiServer()
    {
        Support.Kubectl.RequireInstalled();
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir("podlogs-");
        await using var server = await RuntimeProcess.StartAsync(dir["server"], RuntimeProcess.FreePort());
        var kubectl = new Support.Kubectl(server.KubeconfigPath, dir["kube"]);
        var tls = Path.Combine(server.DataDir, "tls");
        var serverCa = new PemPair(File.ReadAllText(Path.Combine(tls, "server-ca.crt")), File.ReadAllText(Path.Combine(tls, "server-ca.key")));
        var clientCa = new PemPair(File.ReadAllText(Path.Combine(tls, "client-ca.crt")), File.ReadAllText(Path.Combine(tls, "client-ca.key")));
        var serving = CertificateFactory.CreateServing(serverCa, "node-a", ["node-a"], [IPAddress.Loopback], DateTimeOffset.UtcNow);
        var logRoot = dir["pods"];
        await using var kubelet = await KubeletServer.StartAsync(new KubeletServerOptions(IPAddress.Loopback, 0, serving, clientCa.CertificatePem, new PodLogLocator(logRoot)), ct);

        await CreateNodeAsync(kubectl, dir, "node-a", kubelet.Port);
        await CreateNodeAsync(kubectl, dir, "node-b", RuntimeProcess.FreePort()); // nothing listens there
        var uid = await CreatePodAsync(kubectl, dir, "web", "node-a");
        await CreatePodAsync(kubectl, dir, "lost", "node-b");

        var t = DateTimeOffset.UtcNow.AddMinutes(-1);
        var a = Directory.CreateDirectory(Path.Combine(logRoot, $"default_web_{uid}", "a")).FullName;
        File.WriteAllText(Path.Combine(a, "0.log"), Record(t, "F", "first run"));
        File.WriteAllText(Path.Combine(a, "1.log"), Record(t.AddSeconds(1), "P", "second ") + Record(t.AddSeconds(1), "F", "run 1") + Record(t.AddSeconds(2), "F", "run 2") + Record(t.AddSeconds(3), "F", "run 3"));
        var b = Directory.CreateDirectory(Path.Combine(logRoot, $"default_web_{uid}", "b")).FullName;
        File.WriteAllText(Path.Combine(b, "0.log"), Record(t, "F", "from b"));

        // kubectl picks the first container itself when none is named; the API refuses a request without one.
        var defaulted = (await kubectl.RunAsync("logs", "web")).Ok();
        Assert.Equal("second run 1\nrun 2\nrun 3\n", defaulted.Out);
        Assert.Contains("Defaulted container \"a\" out of: a, b", defaulted.Error);
        var several = await kubectl.RunAsync("get", "--raw", "/api/v1/namespaces/default/pods/web/log");
        Assert.NotEqual(0, several.ExitCode);
        Assert.Contains("a container name must be specified for pod web, choose one of: [a b]", several.Error);
        Assert.Equal("second run 1\nrun 2\nrun 3\n", (await kubectl.RunAsync("logs", "web", "-c", "a")).Ok().Out);
        Assert.Equal("from b\n", (await kubectl.RunAsync("logs", "web", "-c", "b")).Ok().Out);
        Assert.Equal("run 2\nrun 3\n", (await kubectl.RunAsync("logs", "web", "-c", "a", "--tail", "2")).Ok().Out);
        Assert.Equal("first run\n", (await kubectl.RunAsync("logs", "web", "-c", "a", "--previous")).Ok().Out);
        var stamped = (await kubectl.RunAsync("logs", "web", "-c", "a", "--timestamps", "--tail", "1")).Ok().Out;
        Assert.Equal($"{t.AddSeconds(3):yyyy-MM-ddTHH:mm:ss.fffffff}00Z run 3\n", stamped);
        var noPrevious = await kubectl.RunAsync("logs", "web", "-c", "b", "--previous");
        Assert.Contains("previous terminated container \"b\" in pod \"web\" not found", noPrevious.Error);
        var missing = await kubectl.RunAsync("logs", "nosuch");
        Assert.Contains("pods \"nosuch\" not found", missing.Error);
        var lost = await kubectl.RunAsync("logs", "lost", "-c", "a");
        Assert.NotEqual(0, lost.ExitCode);
        Assert.Contains("connection refused", lost.Error, StringComparison.OrdinalIgnoreCase);

        // -f streams lines written after it started, and ends when the container restarts (a newer log file).
        await using var follow = kubectl.Start("logs", "-f", "web", "-c", "a");
        Assert.True(await follow.WaitUntilAsync(p => p.Out.Contains("run 3\n"), TimeSpan.FromSeconds(15), ct), follow.Out + follow.Error);
        File.AppendAllText(Path.Combine(a, "1.log"), Record(DateTimeOffset.UtcNow, "F", "written while following"));
        Assert.True(await follow.WaitUntilAsync(p => p.Out.Contains("written while following\n"), TimeSpan.FromSeconds(10), ct), follow.Out + follow.Error);
        Assert.False(follow.HasExited);
        File.WriteAllText(Path.Combine(a, "2.log"), "");
        var ended = await follow.WaitAsync(TimeSpan.FromSeconds(10), ct);
        Assert.Equal(0, ended.ExitCode);

        // The kubelet answers only the API server's identity (or system:masters), never a node's certificate.
        using var nodeCert = CertificateFactory.CreateClient(clientCa, "system:node:node-b", ["system:nodes"], DateTimeOffset.UtcNow).ToCertificate();
        using var http = new HttpClient(Appliance.ClusterRuntime.Agent.Client.ClusterHttp.Create(serverCa.CertificatePem, () => nodeCert));
        var refused = await http.GetAsync($"https://127.0.0.1:{kubelet.Port}/containerLogs/default/web/a", ct);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task KubectlLogsReachesAJoinedAgentsKubeletWithTheJoinCertificates()
    {
        Support.Kubectl.RequireInstalled();
        using var dir = new TempDir("agentlogs-");
        await using var server = await RuntimeProcess.StartAsync(dir["server"], RuntimeProcess.FreePort());
        var kubectl = new Support.Kubectl(server.KubeconfigPath, dir["kube"]);
        var logRoot = dir["pods"];
        await using var agent = JoinAgent.Start(JoinAgent.Url(server), JoinAgent.Token(server), dir["agent"],
            "--node-name", "logs-a", "--node-ip", "127.0.0.1", "--pod-log-dir", logRoot);
        await Poll.UntilAsync(async () => (await kubectl.RunAsync("get", "node", "logs-a", "-o", "jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}")).Out.Trim(),
            port => port.Length > 0 && port != "0", TimeSpan.FromSeconds(30), "the agent's node with its kubelet port", port => $"'{port}'; agent: {agent.Out}{agent.Error}");
        var pod = $$$"""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"solo","namespace":"default"},
             "spec":{"nodeName":"logs-a","containers":[{"name":"main","image":"busybox"}]}}
            """;
        (await kubectl.RunAsync("create", "-f", dir.Write("solo.json", pod))).Ok();
        var uid = (await kubectl.RunAsync("get", "pod", "solo", "-o", "jsonpath={.metadata.uid}")).Ok().Out.Trim();
        var main = Directory.CreateDirectory(Path.Combine(logRoot, $"default_solo_{uid}", "main")).FullName;
        var t = DateTimeOffset.UtcNow;
        File.WriteAllText(Path.Combine(main, "0.log"), Record(t, "F", "hello from the agent") + Record(t, "F", "bye"));

        Assert.Equal("hello from the agent\nbye\n", (await kubectl.RunAsync("logs", "solo")).Ok().Out);
        Assert.Equal("bye\n", (await kubectl.RunAsync("logs", "solo", "--tail=1")).Ok().Out);
    }

    static async Task CreateNodeAsync(Support.Kubectl kubectl, TempDir dir, string name, int port)
    {
        (await kubectl.RunAsync("create", "-f", dir.Write(name + ".json", $$$"""{"apiVersion":"v1","kind":"Node","metadata":{"name":"{{{name}}}"}}"""))).Ok();
        var status = """{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"}],"daemonEndpoints":{"kubeletEndpoint":{"Port":""" + port + "}}}}";
        (await kubectl.RunAsync("patch", "node", name, "--subresource=status", "--type=merge", "-p", status)).Ok();
    }

    static async Task<string> CreatePodAsync(Support.Kubectl kubectl, TempDir dir, string name, string node)
    {
        var pod = $$$"""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"{{{name}}}","namespace":"default"},
             "spec":{"nodeName":"{{{node}}}","containers":[{"name":"a","image":"busybox"},{"name":"b","image":"busybox"}]}}
            """;
        (await kubectl.RunAsync("create", "-f", dir.Write(name + "-pod.json", pod))).Ok();
        return (await kubectl.RunAsync("get", "pod", name, "-o", "jsonpath={.metadata.uid}")).Ok().Out.Trim();
    }
}
