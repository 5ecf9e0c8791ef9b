// A server started on a PKI made by `appliance cluster init` (as a site's first boot places it): used as given, or refused.
using Appliance.ClusterRuntime.Tests.Agent;
using Appliance.ClusterRuntime.Tests.Support;
using Appliance.Common.Pki;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ProvidedPkiTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// Puts the cluster identity of <paramref name="init"/> into a new data directory the way firstboot does: the
    /// <c>tls/</c> files of the site's secrets and the token, 0600; nothing else (no admin certificate, no kubeconfig).
    /// </summary>
    static string Place(ClusterPkiDirectory init, string dataDir, NodeToken? token = null)
    {
        var tls = Path.Combine(dataDir, ClusterPkiFiles.TlsDirectory);
        Directory.CreateDirectory(tls);
        foreach (var (name, pem) in init.Pki.TlsFiles)
            File.WriteAllText(Path.Combine(tls, name), pem);
        File.WriteAllText(Path.Combine(dataDir, ClusterPkiFiles.Token), (token ?? init.Pki.Token) + "\n");
        foreach (var f in Directory.GetFiles(dataDir, "*", SearchOption.AllDirectories))
            File.SetUnixFileMode(f, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return dataDir;
    }

    [Fact]
    public async Task Server_OnAClusterInitPki_KeepsItsCaAndToken_TheInitKubeconfigWorks_AndAnAgentJoinsWithItsToken()
    {
        Support.Kubectl.RequireInstalled();
        using var dir = new TempDir();
        var (init, created) = ClusterPkiDirectory.Create(dir["init"], DateTimeOffset.UtcNow);
        Assert.True(created);
        var data = Place(init, dir["data"]);
        var tokenBefore = File.ReadAllBytes(Path.Combine(data, "token"));

        await using var server = await RuntimeProcess.StartAsync(data, RuntimeProcess.FreePort());
        // Used as given: the token file is the same bytes, the CA files too, and the serving certificate comes from that CA.
        Assert.Equal(tokenBefore, File.ReadAllBytes(Path.Combine(data, "token")));
        foreach (var (name, pem) in init.Pki.TlsFiles)
            Assert.Equal(pem, File.ReadAllText(Path.Combine(data, "tls", name)));
        Assert.True(CertificateFactory.IsSignedBy(File.ReadAllText(Path.Combine(data, "tls", "serving.crt")), init.Pki.ServerCa.CertificatePem));
        Assert.Equal(init.Pki.Token.ToString(), JoinAgent.Token(server));

        // The operator's kubeconfig from cluster init (its own admin certificate, not the server's) reaches the server
        // through 127.0.0.1, with kubectl verifying the serving certificate against the init CA.
        var url = JoinAgent.Url(server);
        var kubectl = new Support.Kubectl(Path.Combine(dir["init"], ClusterPkiDirectory.AdminKubeconfig), dir["cache"]);
        var ns = (await kubectl.RunAsync("--server", url, "get", "ns")).Ok().Out;
        Assert.Contains("kube-system", ns);
        var whoami = (await kubectl.RunAsync("--server", url, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")).Ok().Out;
        Assert.Equal("system:admin", whoami.Trim());

        // An agent given only the cluster-init token pins the CA by its hash and joins.
        await using var agent = JoinAgent.Start(url, init.Pki.Token.ToString(), dir["agent"], "--node-name", "pki-agent", "--node-ip", "192.0.2.31");
        await Poll.UntilAsync(async () => (await kubectl.RunAsync("--server", url, "get", "node", "pki-agent", "-o", "name")).Out,
            o => o.Trim() == "node/pki-agent", TimeSpan.FromSeconds(60), "node pki-agent", _ => agent.Out + agent.Error);
        Assert.Equal(init.Pki.ServerCa.CertificatePem, File.ReadAllText(Path.Combine(dir["agent"], "tls", "server-ca.crt")));
    }

    [Fact]
    public async Task TokenOfAnotherCa_IsRefusedAtStart_WithExit2_AndNothingIsReplaced()
    {
        using var dir = new TempDir();
        var (a, _) = ClusterPkiDirectory.Create(dir["a"], DateTimeOffset.UtcNow);
        var (b, _) = ClusterPkiDirectory.Create(dir["b"], DateTimeOffset.UtcNow);
        var data = Place(a, dir["data"], token: b.Pki.Token);
        var r = await RuntimeCli.RunAsync(TimeSpan.FromSeconds(60), "server", "--data-dir", data, "--disable-agent", "--bind-address", "127.0.0.1",
            "--https-listen-port", "0");
        Assert.Equal(2, r.Code);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"{Path.Combine(data, "token")} pins server CA sha256 {b.Pki.Token.CaHash[..12]}", line);
        Assert.Contains("belong to different clusters", line);
        Assert.Equal(b.Pki.Token + "\n", File.ReadAllText(Path.Combine(data, "token")));
        Assert.False(File.Exists(Path.Combine(data, "tls", "serving.crt")));
    }

    [Fact]
    public async Task HalfACaPair_IsRefused_InsteadOfBeingReplacedByANewCa()
    {
        using var dir = new TempDir();
        var (a, _) = ClusterPkiDirectory.Create(dir["a"], DateTimeOffset.UtcNow);
        var data = Place(a, dir["data"]);
        File.Delete(Path.Combine(data, "tls", "server-ca.key"));
        var r = await RuntimeCli.RunAsync(TimeSpan.FromSeconds(60), "server", "--data-dir", data, "--disable-agent", "--bind-address", "127.0.0.1",
            "--https-listen-port", "0");
        Assert.Equal(2, r.Code);
        Assert.Contains($"{Path.Combine(data, "tls", "server-ca.key")} is missing but {Path.Combine(data, "tls", "server-ca.crt")} is there", r.Stderr);
        Assert.Equal(a.Pki.ServerCa.CertificatePem, File.ReadAllText(Path.Combine(data, "tls", "server-ca.crt")));
    }

    [Fact]
    public async Task ShortToken_OfAServerSiteWithoutPki_KeepsItsSecret_AndGainsTheCaHash()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "token"), "site-secret-0123456789abcdef\n");
        await using var server = await RuntimeProcess.StartAsync(data, RuntimeProcess.FreePort());
        var ca = File.ReadAllText(Path.Combine(data, "tls", "server-ca.crt"));
        Assert.Equal($"K10{NodeToken.HashCa(ca)}::server:site-secret-0123456789abcdef", JoinAgent.Token(server));
    }
}
