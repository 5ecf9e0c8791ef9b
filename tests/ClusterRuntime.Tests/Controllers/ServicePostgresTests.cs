// Two servers on one PostgreSQL datastore: allocations never collide, and both appear in the kubernetes endpoints.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Datastore;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "External")]
public sealed class ServicePostgresTests(PostgresServerFixture pg) : IClassFixture<PostgresServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TwoServers_NeverShareAnAddress_AndBothAreKubernetesEndpoints()
    {
        if (pg.SkipReason is not null) Assert.Skip(pg.SkipReason);
        Support.Kubectl.RequireInstalled();
        var endpoint = await pg.CreateDatabaseAsync();
        using var dir = new TempDir();
        var cache = Path.Combine(dir.Path, "cache");
        Directory.CreateDirectory(cache);
        int portA = RuntimeProcess.FreePort(), portB = RuntimeProcess.FreePort();
        await using var a = await RuntimeProcess.StartAsync(Path.Combine(dir.Path, "a"), portA, "--datastore-endpoint", endpoint, "--advertise-address", "127.0.0.2");
        await using var b = await RuntimeProcess.StartAsync(Path.Combine(dir.Path, "b"), portB, "--datastore-endpoint", endpoint, "--advertise-address", "127.0.0.3");
        var k = new Support.Kubectl(a.KubeconfigPath, cache);

        // Both servers list themselves (each with its own port: one subset per port).
        string Servers(JsonObject ep) => string.Join(",", (ep["subsets"]?.AsArray() ?? [])
            .SelectMany(s => s!["addresses"]!.AsArray().Select(x => $"{x!["ip"]}:{s["ports"]![0]!["port"]}")).Order());
        var both = string.Join(",", new[] { $"127.0.0.2:{portA}", $"127.0.0.3:{portB}" }.Order());
        await WaitAsync(k, Servers, both, "both servers in the kubernetes Endpoints");

        // Creates spread over both servers at once never share a ClusterIP or a NodePort.
        (await k.RunAsync("create", "namespace", "pg-alloc")).Ok();
        using var httpA = a.CreateClient();
        using var httpB = b.CreateClient();
        var results = await Task.WhenAll(Enumerable.Range(0, 30).Select(async i =>
        {
            var http = i % 2 == 0 ? httpA : httpB;
            var body = new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = $"s{i}" },
                ["spec"] = new JsonObject { ["type"] = "NodePort", ["ports"] = new JsonArray(new JsonObject { ["port"] = 80 }) },
            };
            HttpResponseMessage r;
            while ((r = await http.PostAsync("/api/v1/namespaces/pg-alloc/services", Json.Body(body), Ct)).StatusCode == HttpStatusCode.TooManyRequests)
                await Task.Delay(100, Ct);
            var created = await Json.ReadAsync(r);
            Assert.True(r.StatusCode == HttpStatusCode.Created, $"create s{i}: {(int)r.StatusCode} {created.ToJsonString()}");
            return (Ip: created["spec"]!["clusterIP"]!.GetValue<string>(), Port: created["spec"]!["ports"]![0]!["nodePort"]!.GetValue<int>());
        }));
        Assert.Equal(30, results.Select(r => r.Ip).Distinct().Count());
        Assert.Equal(30, results.Select(r => r.Port).Distinct().Count());

        // A server that stops leaves the endpoints.
        Assert.Equal(0, await b.StopAsync(TimeSpan.FromSeconds(15)));
        await WaitAsync(k, Servers, $"127.0.0.2:{portA}", "only server A after B stopped");
    }

    static async Task WaitAsync(Support.Kubectl k, Func<JsonObject, string> observe, string expected, string what)
    {
        string seen = "";
        await Poll.UntilAsync(async () =>
        {
            var r = await k.RunAsync("-n", "default", "get", "endpoints", "kubernetes", "-o", "json");
            if (r.ExitCode == 0) seen = observe(JsonNode.Parse(r.Out)!.AsObject());
            return seen;
        }, s => s == expected, TimeSpan.FromSeconds(30), $"{what} (expected {expected})", interval: TimeSpan.FromMilliseconds(200));
    }
}
