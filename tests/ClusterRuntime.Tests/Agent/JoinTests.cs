// The agent joins a real server process: node, lease, certificates; and the refusals a join must give.
using Appliance.Common.Pki;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "External")]
public sealed class JoinTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    RuntimeProcess Server => fixture.Server;

    async Task<JsonObject?> GetAsync(string path)
    {
        using var http = Server.CreateClient();
        using var r = await http.GetAsync(path, Ct);
        return r.StatusCode == HttpStatusCode.NotFound ? null : await Json.ReadAsync(r.EnsureSuccessStatusCode());
    }

    Task<JsonObject> WaitForNodeAsync(string name, ChildProcess agent) =>
        Poll.UntilAsync(async () => await GetAsync($"/api/v1/nodes/{name}") ?? new JsonObject(), n => n["status"]?["nodeInfo"] is not null,
            TimeSpan.FromSeconds(30), $"node {name} with a status", n => $"{n.ToJsonString()}\nagent: {agent.Out}{agent.Error}");

    [Fact]
    public async Task Agent_Joins_NodeHasLabelsTaintAddressesCapacity_AndItsLeaseIsRenewed()
    {
        Support.Kubectl.RequireInstalled();
        using var dir = new TempDir("join-");
        await using var agent = JoinAgent.Start(JoinAgent.Url(Server), JoinAgent.Token(Server), dir["a"],
            "--node-name", "join-a", "--node-ip", "192.0.2.10", "--node-label", "tier=edge", "--node-taint", "dedicated=edge:NoSchedule");
        var node = await WaitForNodeAsync("join-a", agent);

        var labels = node["metadata"]!["labels"]!.AsObject();
        Assert.Equal("join-a", (string?)labels["kubernetes.io/hostname"]);
        Assert.Equal("linux", (string?)labels["kubernetes.io/os"]);
        Assert.Equal(System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.X64 ? "amd64" : "arm64", (string?)labels["kubernetes.io/arch"]);
        Assert.Equal("edge", (string?)labels["tier"]);
        Assert.Contains(node["spec"]!["taints"]!.AsArray(), t => (string?)t!["key"] == "dedicated" && (string?)t["value"] == "edge" && (string?)t["effect"] == "NoSchedule");
        var status = node["status"]!;
        Assert.Equal("192.0.2.10", (string?)status["addresses"]!.AsArray().Single(a => (string?)a!["type"] == "InternalIP")!["address"]);
        Assert.Equal("join-a", (string?)status["addresses"]!.AsArray().Single(a => (string?)a!["type"] == "Hostname")!["address"]);
        Assert.Equal("110", (string?)status["capacity"]!["pods"]);
        Assert.Equal(Environment.ProcessorCount.ToString(), (string?)status["capacity"]!["cpu"]);
        Assert.EndsWith("Ki", (string?)status["capacity"]!["memory"]);
        Assert.EndsWith("Ki", (string?)status["allocatable"]!["ephemeral-storage"]);
        // Test agents take a free kubelet port (JoinAgent); the one reported is the one the kubelet API listens on.
        using (var probe = new System.Net.Sockets.TcpClient())
            await probe.ConnectAsync(System.Net.IPAddress.Loopback, (int)status["daemonEndpoints"]!["kubeletEndpoint"]!["Port"]!, TestContext.Current.CancellationToken);
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), (string?)status["nodeInfo"]!["kernelVersion"]);
        Assert.StartsWith("v1.", (string?)status["nodeInfo"]!["kubeletVersion"]);
        var conditions = status["conditions"]!.AsArray().ToDictionary(c => (string)c!["type"]!, c => c!.AsObject());
        Assert.Equal(["DiskPressure", "MemoryPressure", "PIDPressure", "Ready"], conditions.Keys.Order());
        Assert.Equal("False", (string?)conditions["MemoryPressure"]["status"]);

        var wide = (await fixture.Kubectl.RunAsync("get", "nodes", "-o", "wide")).Ok().Out;
        var row = wide.Split('\n').Single(l => l.StartsWith("join-a ", StringComparison.Ordinal));
        Assert.Contains(" 192.0.2.10 ", row);

        // The Lease is renewed every 10 s.
        const string lease = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/join-a";
        var first = (string?)(await Poll.UntilAsync(async () => await GetAsync(lease) ?? new JsonObject(), l => l["spec"]?["renewTime"] is not null,
            TimeSpan.FromSeconds(15), "the node's Lease"))["spec"]!["renewTime"];
        await Poll.UntilAsync(async () => (string?)(await GetAsync(lease))?["spec"]?["renewTime"], t => t is not null && t != first,
            TimeSpan.FromSeconds(25), "the Lease renewed");

        // The server keeps a hash, never the password; the agent keeps its secrets owner-only.
        var password = File.ReadAllText(dir["a/node-password"]).Trim();
        var secret = (await GetAsync("/api/v1/namespaces/kube-system/secrets/join-a.node-password.appliance"))!;
        Assert.DoesNotContain(password, System.Text.Encoding.UTF8.GetString(Convert.FromBase64String((string)secret["data"]!["hash"]!)));
        Assert.DoesNotContain(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(password)), secret.ToJsonString());
        foreach (var file in new[] { "node-password", "tls/client-kubelet.key", "tls/serving-kubelet.key" })
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dir["a/" + file]));
        using var client = X509Certificate2.CreateFromPem(File.ReadAllText(dir["a/tls/client-kubelet.crt"]));
        Assert.Equal("CN=system:node:join-a, O=system:nodes", client.Subject);
        using var serving = X509Certificate2.CreateFromPem(File.ReadAllText(dir["a/tls/serving-kubelet.crt"]));
        var sans = serving.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains("join-a", sans.EnumerateDnsNames());
        Assert.Contains(IPAddress.Parse("192.0.2.10"), sans.EnumerateIPAddresses());

        // SIGTERM stops it cleanly.
        (await ProcessRunner.RunAsync("kill", ["-TERM", agent.Id.ToString()], ct: Ct)).Ok();
        Assert.True(await agent.WaitUntilAsync(p => p.HasExited, TimeSpan.FromSeconds(15), Ct), "the agent did not stop on SIGTERM");
        Assert.True(agent.ExitCode == 0, $"exit code {agent.ExitCode}: {agent.Error}");
    }

    [Fact]
    public async Task WrongToken_IsRefused_WithAMessageSayingTheTokenIsWrong()
    {
        using var dir = new TempDir("join-");
        var token = JoinAgent.Token(Server);
        var wrong = token[..token.LastIndexOf(':')] + ":0123456789abcdef0123456789abcdef";
        var r = await JoinAgent.RunAsync(JoinAgent.Url(Server), wrong, dir["a"], "--node-name", "join-b");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("token is wrong", r.Error);
        Assert.Single(r.Error.Trim().Split('\n'));
        Assert.Null(await GetAsync("/api/v1/nodes/join-b"));
    }

    [Fact]
    public async Task TokenWithAnotherCaHash_IsRefused_BeforeTheSecretIsSent()
    {
        using var dir = new TempDir("join-");
        var token = JoinAgent.Token(Server);
        // The right secret behind a wrong hash: had the agent sent it, the server would have recorded a node password.
        var wrong = "K10" + new string('0', 64) + token[token.IndexOf("::", StringComparison.Ordinal)..];
        var r = await JoinAgent.RunAsync(JoinAgent.Url(Server), wrong, dir["a"], "--node-name", "join-c");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("CA hash does not match", r.Error);
        Assert.Null(await GetAsync("/api/v1/namespaces/kube-system/secrets/join-c.node-password.appliance"));
        Assert.False(File.Exists(dir["a/tls/server-ca.crt"]));
    }

    [Fact]
    public async Task SecondMachine_WithTheSameName_IsRefused_AndTheFirstRejoinsAfterLosingItsCertificates()
    {
        using var dir = new TempDir("join-");
        string serial;
        await using (var first = JoinAgent.Start(JoinAgent.Url(Server), JoinAgent.Token(Server), dir["one"], "--node-name", "join-d", "--node-ip", "192.0.2.11"))
        {
            await WaitForNodeAsync("join-d", first);
            using var cert = X509Certificate2.CreateFromPem(File.ReadAllText(dir["one/tls/client-kubelet.crt"]));
            serial = cert.SerialNumber;
        }
        var password = File.ReadAllText(dir["one/node-password"]);

        var other = await JoinAgent.RunAsync(JoinAgent.Url(Server), JoinAgent.Token(Server), dir["two"], "--node-name", "join-d");
        Assert.Equal(1, other.ExitCode);
        Assert.Contains("another machine already uses the node name \"join-d\"", other.Error);
        Assert.Contains("kubectl delete node join-d", other.Error);
        Assert.Contains("join-d.node-password.appliance", other.Error);

        // A runtime reinstall: certificates gone, the node password kept.
        Directory.Delete(dir["one/tls"], recursive: true);
        await using var again = JoinAgent.Start(JoinAgent.Url(Server), JoinAgent.Token(Server), dir["one"], "--node-name", "join-d", "--node-ip", "192.0.2.11");
        await Poll.UntilAsync(() => Task.FromResult(File.Exists(dir["one/tls/serving-kubelet.crt"]) || again.HasExited), ok => ok,
            TimeSpan.FromSeconds(30), "the rejoin", _ => again.Out + again.Error);
        Assert.False(again.HasExited, again.Error);
        using var renewed = X509Certificate2.CreateFromPem(File.ReadAllText(dir["one/tls/client-kubelet.crt"]));
        Assert.NotEqual(serial, renewed.SerialNumber);
        Assert.Equal(password, File.ReadAllText(dir["one/node-password"]));
    }

    [Fact]
    public async Task ExpiredClientCertificate_OfAMachineOfflineForYears_IsReplacedWithTheTokenAndNodePassword()
    {
        using var dir = new TempDir("join-");
        await using (var first = JoinAgent.Start(JoinAgent.Url(Server), JoinAgent.Token(Server), dir["a"], "--node-name", "join-e", "--node-ip", "192.0.2.12"))
            await WaitForNodeAsync("join-e", first);
        // As after years offline: the stored certificate (same key, same CA) has expired.
        var tls = Path.Combine(Server.DataDir, "tls");
        var clientCa = new PemPair(File.ReadAllText(Path.Combine(tls, "client-ca.crt")), File.ReadAllText(Path.Combine(tls, "client-ca.key")));
        var key = File.ReadAllText(dir["a/tls/client-kubelet.key"]);
        using var publicKey = System.Security.Cryptography.ECDsa.Create();
        publicKey.ImportFromPem(key);
        var expired = CertificateFactory.Sign(clientCa, "CN=system:node:join-e, O=system:nodes",
            new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=x", publicKey, System.Security.Cryptography.HashAlgorithmName.SHA256).PublicKey,
            DateTimeOffset.UtcNow, TimeSpan.FromSeconds(1), serverAuth: false, san: null);
        File.WriteAllText(dir["a/tls/client-kubelet.crt"], expired);
        await Task.Delay(TimeSpan.FromSeconds(2), Ct);
        using (var old = X509Certificate2.CreateFromPem(expired)) Assert.True(old.NotAfter < DateTime.Now);

        await using var again = JoinAgent.Start(JoinAgent.Url(Server), JoinAgent.Token(Server), dir["a"], "--node-name", "join-e", "--node-ip", "192.0.2.12");
        var renewed = await Poll.UntilAsync(() => Task.FromResult(File.ReadAllText(dir["a/tls/client-kubelet.crt"])), pem => pem != expired,
            TimeSpan.FromSeconds(30), "a new client certificate", _ => again.Out + again.Error);
        using var cert = X509Certificate2.CreateFromPem(renewed);
        Assert.True(cert.NotAfter > DateTime.Now.AddDays(300), cert.NotAfter.ToString("u"));
        // And the node works with it: its Lease is renewed by this process.
        const string lease = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/join-e";
        // (The first agent may have been stopped before it made the Lease: absent counts as not yet renewed.)
        var before = (string?)(await GetAsync(lease))?["spec"]?["renewTime"];
        await Poll.UntilAsync(async () => (string?)(await GetAsync(lease))?["spec"]?["renewTime"], t => t is not null && t != before,
            TimeSpan.FromSeconds(40), "the Lease renewed with the new certificate", t => $"{t}; agent: {again.Out}{again.Error}");
    }

    [Fact]
    public async Task BadFlags_AreOneLine_AndExitCode2()
    {
        using var dir = new TempDir("join-");
        var token = JoinAgent.Token(Server);
        foreach (var (extra, says) in new[]
        {
            (new[] { "--node-taint", "a=b:Sometimes" }, "--node-taint"),
            (new[] { "--node-label", "no-equals" }, "--node-label"),
            (new[] { "--node-ip", "not-an-ip" }, "--node-ip"),
            (new[] { "--node-name", "Upper_Case" }, "--node-name"),
        })
        {
            var r = await JoinAgent.RunAsync(JoinAgent.Url(Server), token, dir["a"], extra);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains(says, r.Error);
            Assert.Single(r.Error.Trim().Split('\n'));
        }
        var http = await JoinAgent.RunAsync("http://127.0.0.1:1", token, dir["a"]);
        Assert.Equal(2, http.ExitCode);
        Assert.Contains("--server", http.Error);
    }
}
