// One real server process per test class (xunit class fixture), with kubectl and HTTP clients bound to it.
namespace Appliance.ClusterRuntime.Tests.Support;

/// <summary>Starts a server in a temp dir before the class's tests and stops it after.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    readonly TempDir _dir = new();
    RuntimeProcess? _server;

    /// <summary>The running server.</summary>
    public RuntimeProcess Server => _server ?? throw new InvalidOperationException("server not started");

    /// <summary>kubectl bound to the server's kubeconfig.</summary>
    public Kubectl Kubectl { get; private set; } = null!;

    /// <summary>An admin HTTP client, after making sure namespace <paramref name="ns"/> exists (created, or already there).</summary>
    public async Task<HttpClient> NamespaceClientAsync(string ns, CancellationToken ct)
    {
        var http = Server.CreateClient();
        var r = await http.PostAsync("/api/v1/namespaces", Json.Body(new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = ns } }), ct);
        Assert.True(r.StatusCode is System.Net.HttpStatusCode.Created or System.Net.HttpStatusCode.Conflict, r.StatusCode.ToString());
        await NamespaceSettledAsync(http, ns, ct);
        return http;
    }

    /// <summary>
    /// Waits until the controllers gave namespace <paramref name="ns"/> what every namespace has (the <c>default</c>
    /// ServiceAccount and the <c>kube-root-ca.crt</c> ConfigMap), so that lists in it do not change under a test.
    /// </summary>
    public static Task NamespaceSettledAsync(HttpClient http, string ns, CancellationToken ct) =>
        Poll.UntilAsync(async () =>
            (await http.GetAsync($"/api/v1/namespaces/{ns}/serviceaccounts/default", ct)).IsSuccessStatusCode
            && (await http.GetAsync($"/api/v1/namespaces/{ns}/configmaps/kube-root-ca.crt", ct)).IsSuccessStatusCode,
            ok => ok, TimeSpan.FromSeconds(30), $"the default ServiceAccount and kube-root-ca.crt in namespace {ns}");

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        var data = System.IO.Path.Combine(_dir.Path, "data");
        _server = await RuntimeProcess.StartAsync(data, RuntimeProcess.FreePort());
        var cache = System.IO.Path.Combine(_dir.Path, "kube-cache");
        Directory.CreateDirectory(cache);
        Kubectl = new Kubectl(_server.KubeconfigPath, cache);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        _dir.Dispose();
    }
}
