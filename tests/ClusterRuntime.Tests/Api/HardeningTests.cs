// The server under abuse: the join token's reach, system namespaces, key file modes, TLS suites, idle connections, in-flight limits.
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
public sealed class HardeningTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    HttpClient Bearer(string token)
    {
        var client = fixture.Server.CreateClient(admin: false);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    [Fact]
    public async Task JoinToken_OnlyFetchesTheCaAndDiscovery_EverythingElseIs403Status()
    {
        var token = File.ReadAllText(Path.Combine(fixture.Server.DataDir, "token")).Trim();
        var secret = token[(token.LastIndexOf(':') + 1)..];
        using var node = Bearer(secret);
        Assert.Equal(HttpStatusCode.OK, (await node.GetAsync("/cacerts", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await node.GetAsync("/version", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await node.GetAsync("/api", Ct)).StatusCode);
        foreach (var (method, path, body) in new (HttpMethod, string, JsonObject?)[]
        {
            (HttpMethod.Get, "/api/v1/secrets", null),
            (HttpMethod.Get, "/api/v1/namespaces/kube-system/secrets", null),
            (HttpMethod.Get, "/api/v1/namespaces", null),
            (HttpMethod.Post, "/api/v1/nodes", new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Node", ["metadata"] = new JsonObject { ["name"] = "intruder" } }),
            (HttpMethod.Delete, "/api/v1/namespaces/default", null),
        })
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : Json.Body(body) };
            using var response = await node.SendAsync(request, Ct);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            var status = await Json.ReadAsync(response);
            Assert.Equal("Status", status["kind"]!.GetValue<string>());
            Assert.Equal("Forbidden", status["reason"]!.GetValue<string>());
            Assert.Equal(403, status["code"]!.GetValue<int>());
        }
        using var admin = fixture.Server.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/v1/nodes/intruder", Ct)).StatusCode);
        // The admin token still reads everything.
        using var adminBearer = Bearer(File.ReadAllText(Path.Combine(fixture.Server.DataDir, "admin-token")).Trim());
        Assert.Equal(HttpStatusCode.OK, (await adminBearer.GetAsync("/api/v1/secrets", Ct)).StatusCode);
    }

    [Fact]
    public async Task KubeNodeLease_CannotBeDeleted()
    {
        using var http = fixture.Server.CreateClient();
        using var response = await http.DeleteAsync("/api/v1/namespaces/kube-node-lease", Ct);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var ns = await Json.ReadAsync(await http.GetAsync("/api/v1/namespaces/kube-node-lease", Ct));
        Assert.Equal("Active", ns["status"]!["phase"]!.GetValue<string>());
        Assert.Null(ns["metadata"]!["deletionTimestamp"]);
    }

    [Fact]
    public async Task NamespacePhase_CannotBeSetByAClient()
    {
        using var http = fixture.Server.CreateClient();
        var patch = new StringContent("""{"status":{"phase":"Terminating"}}""");
        patch.Headers.ContentType = new MediaTypeHeaderValue("application/merge-patch+json");
        using var response = await http.PatchAsync("/api/v1/namespaces/default/status", patch, Ct);
        Assert.Equal((HttpStatusCode)422, response.StatusCode);
        Assert.Contains("status.phase", (await Json.ReadAsync(response))["message"]!.GetValue<string>());
        var main = new StringContent("""{"status":{"phase":"Terminating"}}""");
        main.Headers.ContentType = new MediaTypeHeaderValue("application/merge-patch+json");
        using var ignored = await http.PatchAsync("/api/v1/namespaces/default", main, Ct);
        Assert.Equal(HttpStatusCode.OK, ignored.StatusCode);
        var ns = await Json.ReadAsync(await http.GetAsync("/api/v1/namespaces/default", Ct));
        Assert.Equal("Active", ns["status"]!["phase"]!.GetValue<string>());
    }

    static async Task<(int Code, string Output)> OpenSsl(int port, params string[] args)
    {
        var r = await ProcessRunner.RunAsync("openssl", ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", "localhost", .. args],
            new ProcessOptions { Timeout = TimeSpan.FromSeconds(60) }, Ct);
        return (r.ExitCode, r.Out + r.Error);
    }

    static bool HasOpenSsl()
    {
        try
        {
            return ProcessRunner.Run("openssl", ["version"]).ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    [Fact]
    public async Task Tls_OffersOnlyAeadSuites_AndOnlyTls12And13()
    {
        if (!HasOpenSsl()) Assert.Skip("openssl is not installed");
        var port = fixture.Server.Port;
        var aead = await OpenSsl(port, "-tls1_2", "-cipher", "ECDHE+AESGCM:ECDHE+CHACHA20");
        Assert.True(aead.Code == 0, aead.Output);
        foreach (var cbc in new[] { "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384", "AES128-SHA", "AES256-SHA256" })
        {
            var r = await OpenSsl(port, "-tls1_2", "-cipher", cbc);
            Assert.True(r.Code != 0, $"{cbc} was accepted:\n{r.Output}");
        }
        var all = await OpenSsl(port, "-tls1_2", "-cipher", "ALL:!AESGCM:!CHACHA20:!AESCCM:!ARIAGCM");
        Assert.True(all.Code != 0, "a TLS 1.2 suite without AEAD was accepted:\n" + all.Output);
        var tls11 = await OpenSsl(port, "-tls1_1", "-cipher", "ALL:@SECLEVEL=0");
        Assert.True(tls11.Code != 0, "TLS 1.1 was accepted:\n" + tls11.Output);
        var tls13 = await OpenSsl(port, "-tls1_3");
        Assert.True(tls13.Code == 0, tls13.Output);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task KeyFiles_WithLoosenedModes_AreFixedAtStart_WithAWarningNamingThem()
    {
        if (OperatingSystem.IsWindows()) Assert.Skip("Unix file modes only");
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var port = RuntimeProcess.FreePort();
        await using (var first = await RuntimeProcess.StartAsync(data, port))
            Assert.Equal(0, await first.StopAsync(TimeSpan.FromSeconds(15)));
        var loosened = new[] { Path.Combine(data, "tls", "serving.key"), Path.Combine(data, "tls", "client-ca.key"), Path.Combine(data, "token") };
        foreach (var f in loosened)
            File.SetUnixFileMode(f, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await using var second = await RuntimeProcess.StartAsync(data, port);
        foreach (var f in loosened)
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f));
            Assert.Contains(f, second.Log);
        }
        Assert.DoesNotContain(Path.Combine(data, "tls", "server-ca.key"), second.Log);
    }

    static async Task<SslStream> Handshake(int port)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port, Ct);
        var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", ApplicationProtocols = [SslApplicationProtocol.Http11] }, Ct);
        return tls;
    }

    static async Task<bool> ClosedWithin(SslStream tls, TimeSpan within)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(within);
        try
        {
            return await tls.ReadAsync(new byte[1024], cts.Token) == 0;
        }
        catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    [Fact]
    public async Task IdleConnections_AreClosed_AndTheirNumberIsCapped()
    {
        using var dir = new TempDir();
        await using var server = await RuntimeProcess.StartAsync(Path.Combine(dir.Path, "data"), RuntimeProcess.FreePort(),
            "--max-connections", "4", "--idle-connection-timeout", "3");
        var idle = new List<SslStream>();
        for (int i = 0; i < 4; i++) idle.Add(await Handshake(server.Port));
        // Past the cap a connection is closed before it is served.
        var refused = false;
        try
        {
            using var extra = await Handshake(server.Port);
            refused = await ClosedWithin(extra, TimeSpan.FromSeconds(2));
        }
        catch (Exception e) when (e is IOException or AuthenticationException or SocketException)
        {
            refused = true;
        }
        Assert.True(refused, "a fifth connection was served past --max-connections 4");
        foreach (var tls in idle)
        {
            Assert.True(await ClosedWithin(tls, TimeSpan.FromSeconds(10)), "an idle connection stayed open past --idle-connection-timeout");
            tls.Dispose();
        }
        using var http = server.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/v1/namespaces", Ct)).StatusCode);
    }

    [Fact]
    public async Task RequestsPastTheInFlightLimits_Get429WithRetryAfter_WatchesAreNotCounted()
    {
        using var dir = new TempDir();
        await using var server = await RuntimeProcess.StartAsync(Path.Combine(dir.Path, "data"), RuntimeProcess.FreePort(),
            "--max-requests-inflight", "1", "--max-mutating-requests-inflight", "1");
        using var http = server.CreateClient();
        // An open watch is long-running and does not hold a slot.
        using var watcher = server.CreateClient();
        using var watch = await watcher.GetAsync("/api/v1/namespaces/default/configmaps?watch=1", HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.OK, watch.StatusCode);
        for (int i = 0; i < 12; i++)
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/default/configmaps", Json.Body(Json.ConfigMap($"cm-{i}", null, ("v", new string('x', 2_900_000)))), Ct)).StatusCode);

        // A list whose reader stops reading holds the one read slot.
        await using var stuck = await RawWatch.OpenAsync(server, "/api/v1/namespaces/default/configmaps", Ct);
        using var busy = await http.GetAsync("/api/v1/namespaces/default/configmaps/cm-0", Ct);
        Assert.Equal((HttpStatusCode)429, busy.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), busy.Headers.RetryAfter?.Delta);
        var status = await Json.ReadAsync(busy);
        Assert.Equal("TooManyRequests", status["reason"]!.GetValue<string>());
        Assert.Equal(429, status["code"]!.GetValue<int>());
        // Writes have their own limit.
        Assert.Equal(HttpStatusCode.OK, (await http.PutAsync("/api/v1/namespaces/default/configmaps/cm-1", Json.Body(Json.ConfigMap("cm-1", null, ("v", "small"))), Ct)).StatusCode);

        // A write whose body never finishes holds the one write slot.
        var stalled = new StalledContent();
        var pending = http.PostAsync("/api/v1/namespaces/default/configmaps", stalled, Ct);
        await stalled.Started.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        await Task.Delay(300, Ct);
        using var write = await http.PostAsync("/api/v1/namespaces/default/configmaps", Json.Body(Json.ConfigMap("late")), Ct);
        Assert.Equal((HttpStatusCode)429, write.StatusCode);
        Assert.NotNull(write.Headers.RetryAfter);
        stalled.Release.TrySetResult();
        await pending;
    }

    /// <summary>A request body that sends its first bytes and then waits.</summary>
    sealed class StalledContent : HttpContent
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public StalledContent() => Headers.ContentType = new MediaTypeHeaderValue("application/json");

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync("{\"apiVersion\":\"v1\","u8.ToArray());
            await stream.FlushAsync();
            Started.TrySetResult();
            await Release.Task;
            await stream.WriteAsync("\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"stalled\"}}"u8.ToArray());
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
