// In-process server on a real SQLite store: after compaction, old continue tokens and watch revisions get 410.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Datastore.Sqlite;
using Appliance.ClusterRuntime.Server;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "RoundTrip")]
public sealed class CompactionTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CompactedContinueToken_AndWatchFromACompactedRevision_Get410()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var backend = new SqliteBackend(new SqliteBackendOptions { DataDir = Path.Combine(data, "db") });
        await using var server = await ApiServer.StartAsync(
            new ServerOptions { DataDir = data, HttpsPort = 0, BindAddress = "127.0.0.1", CompactInterval = TimeSpan.FromHours(1) }, backend, ct: Ct);
        using var http = HttpFor(data, server.Port);
        await ServerFixture.NamespaceSettledAsync(http, "default", Ct);

        for (int i = 0; i < 4; i++)
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/default/configmaps", Json.Body(Json.ConfigMap($"c{i}")), Ct)).StatusCode);
        var first = await Json.ReadAsync(await http.GetAsync("/api/v1/namespaces/default/configmaps?limit=2", Ct));
        var token = first["metadata"]!["continue"]!.GetValue<string>();
        var listRv = first["metadata"]!["resourceVersion"]!.GetValue<string>();
        // One more write, then compact everything up to it.
        await http.PostAsync("/api/v1/namespaces/default/configmaps", Json.Body(Json.ConfigMap("c9")), Ct);
        await backend.CompactAsync(await backend.CurrentRevisionAsync(Ct), Ct);

        var expired = await http.GetAsync($"/api/v1/namespaces/default/configmaps?limit=2&continue={Uri.EscapeDataString(token)}", Ct);
        Assert.Equal(HttpStatusCode.Gone, expired.StatusCode);
        var status = await Json.ReadAsync(expired);
        Assert.Equal("Expired", status["reason"]!.GetValue<string>());
        Assert.Equal(410, status["code"]!.GetValue<int>());

        var exact = await http.GetAsync($"/api/v1/namespaces/default/configmaps?resourceVersion={listRv}&resourceVersionMatch=Exact", Ct);
        Assert.Equal(HttpStatusCode.Gone, exact.StatusCode);

        using var watch = await http.GetAsync($"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={listRv}&timeoutSeconds=5", HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.OK, watch.StatusCode);
        using var reader = new StreamReader(await watch.Content.ReadAsStreamAsync(Ct));
        var line = await reader.ReadLineAsync(Ct);
        var ev = JsonNode.Parse(line!)!;
        Assert.Equal("ERROR", ev["type"]!.GetValue<string>());
        Assert.Equal(410, ev["object"]!["code"]!.GetValue<int>());
        Assert.Equal("Expired", ev["object"]!["reason"]!.GetValue<string>());

        // A fresh list works and reports the new revision.
        var fresh = await Json.ReadAsync(await http.GetAsync("/api/v1/namespaces/default/configmaps", Ct));
        Assert.Equal(6, fresh["items"]!.AsArray().Count); // and kube-root-ca.crt
    }

    [Fact]
    public async Task Compactor_CompactsToThePreviousRunsRevision_OnlyWhenEnoughRevisionsPiledUp()
    {
        using var dir = new TempDir();
        await using var backend = new SqliteBackend(new SqliteBackendOptions { DataDir = dir.Path });
        await backend.StartAsync(Ct);
        for (int i = 0; i < 3; i++) await backend.CreateAsync($"/registry/configmaps/default/k{i}", "{}"u8.ToArray(), 0, Ct);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var compactor = new Appliance.ClusterRuntime.Controllers.Compactor(backend, TimeSpan.FromMilliseconds(100),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance) { MinRevisions = 10 };
        var run = compactor.RunAsync(stop.Token);
        await Task.Delay(500, Ct);
        Assert.Equal(0, backend.CompactRevision); // 3 revisions: not worth a write
        for (int i = 3; i < 20; i++) await backend.CreateAsync($"/registry/configmaps/default/k{i}", "{}"u8.ToArray(), 0, Ct);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (backend.CompactRevision == 0 && DateTime.UtcNow < deadline) await Task.Delay(50, Ct);
        await stop.CancelAsync();
        await run;
        Assert.InRange(backend.CompactRevision, 10, 20);
    }

    static HttpClient HttpFor(string dataDir, int port)
    {
        var tls = Path.Combine(dataDir, "tls");
        var cert = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(tls, "client-admin.crt")), File.ReadAllText(Path.Combine(tls, "client-admin.key")));
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        handler.SslOptions.ClientCertificates = [cert];
        return new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{port}") };
    }
}
