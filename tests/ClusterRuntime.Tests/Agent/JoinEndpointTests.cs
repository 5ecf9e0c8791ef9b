// The server's join endpoints answered directly: who may call them and what a bad request gets.
using Appliance.Common.Pki;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.Join;
using Appliance.ClusterRuntime.Agent.Kubelet.Logs;
using Appliance.ClusterRuntime.Agent.KubeletApi;
using Appliance.ClusterRuntime.Pki;
using Appliance.ClusterRuntime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "External")]
public sealed class JoinEndpointTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    const string Path = "/v1-appliance/client-kubelet.crt";

    static string Csr(string subject = "CN=whatever, O=system:masters")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new CertificateRequest(subject, key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
    }

    HttpRequestMessage Request(string body, string? bearer, string node = "endpoint-node", string method = "POST")
    {
        var r = new HttpRequestMessage(new HttpMethod(method), Path) { Content = new StringContent(body) };
        if (bearer is not null) r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        r.Headers.Add("Appliance-Node-Name", node);
        r.Headers.Add("Appliance-Node-Password", "0123456789abcdef0123456789abcdef");
        return r;
    }

    string Secret => JoinAgent.Token(fixture.Server)[(JoinAgent.Token(fixture.Server).LastIndexOf(':') + 1)..];

    [Fact]
    public async Task TheSubjectIsTheServersChoice_NotTheRequesters()
    {
        using var http = fixture.Server.CreateClient(admin: false);
        using var r = await http.SendAsync(Request(Csr(), Secret), Ct);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using var cert = X509Certificate2.CreateFromPem(await r.Content.ReadAsStringAsync(Ct));
        Assert.Equal("CN=system:node:endpoint-node, O=system:nodes", cert.Subject);
        Assert.True(cert.NotAfter < DateTime.Now.AddDays(366));
    }

    [Fact]
    public async Task Refusals_AreStatusObjects_WithTheRightCode()
    {
        using var anonymous = fixture.Server.CreateClient(admin: false);
        using var admin = fixture.Server.CreateClient();
        async Task Expect(HttpClient http, HttpRequestMessage request, HttpStatusCode code, string says)
        {
            using var r = await http.SendAsync(request, Ct);
            Assert.Equal(code, r.StatusCode);
            var status = await Json.ReadAsync(r);
            Assert.Equal("Status", (string?)status["kind"]);
            Assert.Contains(says, (string?)status["message"]);
        }
        await Expect(anonymous, Request(Csr(), null), HttpStatusCode.Unauthorized, "Unauthorized");
        await Expect(anonymous, Request(Csr(), "not-the-secret"), HttpStatusCode.Unauthorized, "Unauthorized");
        await Expect(admin, Request(Csr(), null), HttpStatusCode.Forbidden, "node token only");
        await Expect(anonymous, Request("not a csr", Secret), HttpStatusCode.BadRequest, "signing request");
        await Expect(anonymous, Request(Csr(), Secret, node: "Not_A_Name"), HttpStatusCode.BadRequest, "not a valid node name");
        await Expect(anonymous, Request(Csr(), Secret, method: "GET"), HttpStatusCode.MethodNotAllowed, "POST");
        // The join token still reaches nothing else.
        using var other = new HttpRequestMessage(HttpMethod.Get, "/api/v1/secrets");
        other.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);
        await Expect(anonymous, other, HttpStatusCode.Forbidden, "request node certificates");
    }

    [Fact]
    public async Task Certificates_AreRenewedWhileConnected_AndTheKubeletApiServesTheNewOneWithoutARestart()
    {
        using var dir = new TempDir("renew-");
        Assert.True(NodeToken.TryParse(JoinAgent.Token(fixture.Server), out var token));
        var clock = new ShiftedClock();
        var files = new NodeCredentials(dir["node"]);
        var joiner = new NodeJoiner(files, new ServerList(new Uri(JoinAgent.Url(fixture.Server))), token, "renew-node", IPAddress.Loopback, NullLogger.Instance, clock);
        await joiner.JoinAsync(Ct);
        var client = joiner.ClientCertificate!.Thumbprint;
        var serving = files.Load(NodeJoiner.Serving)!;
        Assert.Null(await joiner.RenewIfDueAsync(Ct));
        Assert.Equal(client, joiner.ClientCertificate!.Thumbprint);

        var clientCa = File.ReadAllText(System.IO.Path.Combine(fixture.Server.DataDir, "tls", "client-ca.crt"));
        await using var kubelet = await KubeletServer.StartAsync(new KubeletServerOptions(IPAddress.Loopback, 0, serving, clientCa, new PodLogLocator(dir["logs"])), Ct);
        Assert.Equal(Thumbprint(serving), await PresentedAsync(kubelet.Port, joiner.ClientCertificate!));

        // 250 days on, a third of the 365-day lifetime is left: both are renewed, the files replaced, and the kubelet
        // API presents the new serving certificate to the next connection.
        clock.Shift = TimeSpan.FromDays(250);
        var renewed = await joiner.RenewIfDueAsync(Ct);
        Assert.NotNull(renewed);
        Assert.NotEqual(Thumbprint(serving), Thumbprint(renewed));
        Assert.Equal(Thumbprint(renewed), Thumbprint(files.Load(NodeJoiner.Serving)!));
        Assert.NotEqual(client, joiner.ClientCertificate!.Thumbprint);
        Assert.Equal(joiner.ClientCertificate!.Thumbprint, Thumbprint(files.Load(NodeJoiner.Client)!));
        kubelet.UseServingCertificate(renewed);
        Assert.Equal(Thumbprint(renewed), await PresentedAsync(kubelet.Port, joiner.ClientCertificate!));
    }

    static string Thumbprint(PemPair pair)
    {
        using var c = X509Certificate2.CreateFromPem(pair.CertificatePem);
        return c.Thumbprint;
    }

    /// <summary>The thumbprint of the certificate a new TLS connection to <paramref name="port"/> is shown.</summary>
    static async Task<string> PresentedAsync(int port, X509Certificate2 clientCertificate)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port, Ct);
        string? seen = null;
        await using var tls = new System.Net.Security.SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = "renew-node",
            ClientCertificates = [clientCertificate],
            RemoteCertificateValidationCallback = (_, cert, _, _) => { seen = cert?.GetCertHashString(); return true; },
        }, Ct);
        return seen ?? throw new InvalidOperationException("no certificate presented");
    }

    sealed class ShiftedClock : TimeProvider
    {
        public TimeSpan Shift { get; set; }
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Shift;
    }
}
