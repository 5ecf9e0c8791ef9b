// The ready waiter against a real appliance-runtime server: each reason it records, the Node created and its status patched by hand.
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Appliance.Firstboot.Device;

namespace Appliance.Firstboot.Tests.Device;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class NodeReadyWaiterTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    sealed class Server(TempDir dir, int port, ProcessSupervisor supervisor) : IAsyncDisposable
    {
        public int Port => port;
        public string Tls => Path.Combine(dir["data"], "runtime", "tls");
        public string Kubeconfig => Path.Combine(dir["data"], "runtime", "kubeconfig.yaml");
        public ApiCredentials Admin => ApiCredentials.FromKubeconfig(Kubeconfig);

        public static async Task<Server> StartAsync(TempDir dir)
        {
            int port = RealRuntime.FreePort();
            var sup = new ProcessSupervisor(RuntimeCommand.Build(RealRuntime.Server(dir, port)), _ => { });
            sup.Start();
            var s = new Server(dir, port, sup);
            if (!await RealRuntime.ReadyzAsync(port, TimeSpan.FromSeconds(90), Ct))
            {
                await s.DisposeAsync();
                Assert.Fail("the runtime did not serve /readyz: " + File.ReadAllText(Path.Combine(dir["data"], "logs", "appliance-runtime.log")));
            }
            return s;
        }

        /// <summary>A client certificate for <paramref name="cn"/> (in <paramref name="group"/>) signed by the server's client CA, as PEM.</summary>
        public (string Cert, string Key) Issue(string cn, string? group)
        {
            using var ca = X509Certificate2.CreateFromPemFile(Path.Combine(Tls, "client-ca.crt"), Path.Combine(Tls, "client-ca.key"));
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var subject = group is null ? $"CN={cn}" : $"CN={cn}, O={group}";
            var req = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
            req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
            using var cert = req.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(8));
            return (cert.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
        }

        public async Task SendAsync(HttpMethod method, string path, string json, string contentType = "application/json")
        {
            using var http = Admin.CreateClient();
            using var req = new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, contentType) };
            using var r = await http.SendAsync(req, Ct);
            Assert.True(r.IsSuccessStatusCode, $"{method} {path}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync(Ct)}");
        }

        public ValueTask DisposeAsync() => supervisor.DisposeAsync();
    }

    static Task PatchReady(Server s, string node, string status, string reason, string message, DateTime? heartbeat = null) =>
        s.SendAsync(HttpMethod.Patch, $"/api/v1/nodes/{node}/status", $$$"""
            {"status":{"addresses":[{"type":"InternalIP","address":"192.168.10.5"},{"type":"Hostname","address":"{{{node}}}"}],
              "conditions":[{"type":"Ready","status":"{{{status}}}","reason":"{{{reason}}}","message":"{{{message}}}",
                "lastHeartbeatTime":"{{{heartbeat ?? DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}}}","lastTransitionTime":"{{{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}}}"}]}}
            """, "application/strategic-merge-patch+json");

    [Fact]
    public async Task Waiter_RecordsEveryReasonInTurn_UntilTheNodeIsReady()
    {
        using var dir = new TempDir("fb-ready-");
        var kubeconfig = Path.Combine(dir["data"], "runtime", "kubeconfig.yaml");
        var log = new List<string>();
        bool Logged(string s) { lock (log) return log.Any(l => l.Contains(s)); }
        var waiter = new NodeReadyWaiter("edge-1", () => ApiCredentials.FromKubeconfig(kubeconfig), l => { lock (log) log.Add(l); },
            new BackoffPolicy(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(400), TimeSpan.Zero));
        // Started before the runtime: the first tries find no kubeconfig.
        var wait = waiter.WaitAsync(TimeSpan.FromMinutes(3), Ct);
        await Task.Delay(500, Ct);
        await using var server = await Server.StartAsync(dir);

        async Task Until(string what)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!Logged(what))
            {
                Assert.False(wait.IsCompleted, $"the wait ended before '{what}': {string.Join("\n", log)}");
                Assert.True(DateTime.UtcNow < deadline, $"no '{what}' logged: {string.Join("\n", log)}");
                await Task.Delay(50, Ct);
            }
        }
        await Until("node edge-1 not found");
        await server.SendAsync(HttpMethod.Post, "/api/v1/nodes", """{"apiVersion":"v1","kind":"Node","metadata":{"name":"edge-1"}}""");
        await Until("has no Ready condition yet");
        await PatchReady(server, "edge-1", "False", "KubeletNotReady", "container runtime network not ready: NetworkReady=false");
        await Until("Ready=False (KubeletNotReady): container runtime network not ready");
        await PatchReady(server, "edge-1", "True", "KubeletReady", "kubelet is posting ready status");

        var result = await wait;
        Assert.True(result.Ready, result.Reason);
        Assert.Equal("Ready", result.Reason);
        Assert.Equal($"https://127.0.0.1:{server.Port}", result.ApiServer);
        Assert.Equal("192.168.10.5", result.NodeAddress);
        var reasons = result.Failures.Select(f => f.Reason).ToList();
        Assert.StartsWith("no credentials yet:", reasons[0]);
        Assert.Contains("kubeconfig.yaml", reasons[0]);
        int notFound = reasons.FindIndex(r => r == "node edge-1 not found (not registered yet)");
        int noCondition = reasons.FindIndex(r => r == "node edge-1 has no Ready condition yet");
        int notReady = reasons.FindIndex(r => r.StartsWith("Ready=False (KubeletNotReady): container runtime network not ready", StringComparison.Ordinal));
        Assert.True(0 < notFound && notFound < noCondition && noCondition < notReady, string.Join("\n", reasons));
        Assert.True(result.Failures[notFound].Count >= 1 && result.Failures[notFound].Last >= result.Failures[notFound].First);
        Assert.Contains(log, l => l.Contains("node edge-1 is Ready"));
    }

    /// <summary>
    /// After a reboot the datastore still holds the last boot's Ready=True until the node lifecycle controller marks it
    /// Unknown: that must not bless this boot. Only a heartbeat from after the wait began counts.
    /// </summary>
    [Fact]
    public async Task Waiter_DoesNotTakeTheLastBootsReady_OnlyAFreshHeartbeat()
    {
        using var dir = new TempDir("fb-ready-");
        await using var server = await Server.StartAsync(dir);
        await server.SendAsync(HttpMethod.Post, "/api/v1/nodes", """{"apiVersion":"v1","kind":"Node","metadata":{"name":"edge-2"}}""");
        await PatchReady(server, "edge-2", "True", "KubeletReady", "kubelet is posting ready status", DateTime.UtcNow.AddHours(-1));
        var waiter = new NodeReadyWaiter("edge-2", () => server.Admin, _ => { },
            new BackoffPolicy(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(300), TimeSpan.Zero));
        var stale = await waiter.WaitAsync(TimeSpan.FromSeconds(2), Ct);
        Assert.False(stale.Ready);
        Assert.Contains("Ready=True is from before this boot", stale.Reason);

        var wait = waiter.WaitAsync(TimeSpan.FromMinutes(1), Ct);
        await Task.Delay(500, Ct);
        await PatchReady(server, "edge-2", "True", "KubeletReady", "kubelet is posting ready status");
        var fresh = await wait;
        Assert.True(fresh.Ready, fresh.Reason);
    }

    [Fact]
    public async Task Waiter_NamesConnectionRefused_Tls_Forbidden_AndUsesTheNodesOwnCertificateOnAnAgentSite()
    {
        using var dir = new TempDir("fb-ready-");
        await using var server = await Server.StartAsync(dir);
        var admin = server.Admin;
        static async Task<NodeReadyResult> Once(string node, Func<ApiCredentials> creds) =>
            await new NodeReadyWaiter(node, creds, _ => { }).WaitAsync(TimeSpan.FromMilliseconds(100), Ct);

        // Nothing listens on the port.
        int closed = RealRuntime.FreePort();
        var refused = await Once("edge-1", () => admin with { Server = new Uri($"https://127.0.0.1:{closed}") });
        Assert.False(refused.Ready);
        Assert.Equal($"connection refused (https://127.0.0.1:{closed})", refused.Failures.Single().Reason);
        Assert.StartsWith("not Ready after", refused.Reason);

        // A CA that did not sign the server's certificate.
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var otherReq = new CertificateRequest("CN=other-ca", otherKey, HashAlgorithmName.SHA256);
        otherReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var otherCa = otherReq.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var tls = await Once("edge-1", () => admin with { CaPem = otherCa.ExportCertificatePem() });
        Assert.StartsWith($"TLS with https://127.0.0.1:{server.Port} failed", tls.Failures.Single().Reason);

        // A user the cluster knows but RBAC does not let read nodes.
        var (cert, key) = server.Issue("someone", null);
        var forbidden = await Once("edge-1", () => admin with { ClientCertificatePem = cert, ClientKeyPem = key });
        var reason = forbidden.Failures.Single().Reason;
        Assert.StartsWith("403 Forbidden: ", reason);
        Assert.Contains("someone", reason);

        // An agent site: the node's own certificate in DATA/runtime/agent/tls, which may read its own Node.
        var agentDir = dir["data/runtime/agent"];
        var (nodeCert, nodeKey) = server.Issue("system:node:edge-2", "system:nodes");
        Directory.CreateDirectory(Path.Combine(agentDir, "tls"));
        File.Copy(Path.Combine(server.Tls, "server-ca.crt"), Path.Combine(agentDir, "tls", "server-ca.crt"));
        File.WriteAllText(Path.Combine(agentDir, "tls", "client-kubelet.crt"), nodeCert);
        File.WriteAllText(Path.Combine(agentDir, "tls", "client-kubelet.key"), nodeKey);
        var url = new Uri($"https://127.0.0.1:{server.Port}");
        var absent = await Once("edge-2", () => ApiCredentials.FromAgentDirectory(agentDir, url));
        Assert.Equal("node edge-2 not found (not registered yet)", absent.Failures.Single().Reason);
        await server.SendAsync(HttpMethod.Post, "/api/v1/nodes", """{"apiVersion":"v1","kind":"Node","metadata":{"name":"edge-2"}}""");
        await PatchReady(server, "edge-2", "True", "KubeletReady", "kubelet is posting ready status");
        var ready = await Once("edge-2", () => ApiCredentials.FromAgentDirectory(agentDir, url));
        Assert.True(ready.Ready, ready.Reason);
        Assert.Empty(ready.Failures);

        // An agent that has not joined yet has no certificate: a failed try that says so.
        var early = await Once("edge-3", () => ApiCredentials.FromAgentDirectory(dir["nowhere"], url));
        Assert.StartsWith("no credentials yet:", early.Failures.Single().Reason);
    }
}
