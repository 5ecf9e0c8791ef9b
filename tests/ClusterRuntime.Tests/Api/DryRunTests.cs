// dryRun=All on every write: the answer is what would be stored, and nothing is (same object, same resourceVersion, same store revision).
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
public sealed class DryRunTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    const string Ns = "dry-run";

    static string ConfigMap(string name, string value) => $"""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {name}
          namespace: {Ns}
        data:
          k: "{value}"
        """;

    /// <summary>
    /// Runs <paramref name="dryRuns"/> with a watch of the namespace's ConfigMaps open from <paramref name="rv"/>, then
    /// creates a marker ConfigMap; returns the names of the objects the watch reported before the marker (the
    /// namespace's own controllers may write theirs, so the check is by name, not by revision).
    /// </summary>
    static async Task<List<string>> WatchedDuringAsync(HttpClient http, string rv, string marker, Func<Task> dryRuns)
    {
        using var watch = await http.GetAsync($"/api/v1/namespaces/{Ns}/configmaps?watch=1&resourceVersion={rv}", HttpCompletionOption.ResponseHeadersRead, Ct);
        using var reader = new StreamReader(await watch.Content.ReadAsStreamAsync(Ct));
        await dryRuns();
        Assert.Equal(201, (int)(await http.PostAsync($"/api/v1/namespaces/{Ns}/configmaps", Json.Body(Json.ConfigMap(marker)), Ct)).StatusCode);
        var seen = new List<string>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            var name = JsonNode.Parse(line)!["object"]!["metadata"]!["name"]!.GetValue<string>();
            if (name == marker) return seen;
            seen.Add(name);
        }
        throw new InvalidOperationException("the watch ended before the marker's event");
    }

    static async Task<string> ListRevisionAsync(HttpClient http) =>
        (await Json.ReadAsync(await http.GetAsync($"/api/v1/namespaces/{Ns}/configmaps", Ct)))["metadata"]!["resourceVersion"]!.GetValue<string>();

    [Fact]
    public async Task KubectlDryRunServer_OnCreateApplyPatchDelete_ChangesNothing()
    {
        Support.Kubectl.RequireInstalled();
        using var http = await fx.NamespaceClientAsync(Ns, Ct);
        var k = fx.Kubectl;

        var seen = await WatchedDuringAsync(http, await ListRevisionAsync(http), "marker-1", async () =>
        {
            var dry = (await k.RunAsync(Encoding.UTF8.GetBytes(ConfigMap("ghost", "1")), "apply", "-f", "-", "--dry-run=server")).Ok();
            Assert.Contains("configmap/ghost created (server dry run)", dry.Out);
            var ssa = (await k.RunAsync(Encoding.UTF8.GetBytes(ConfigMap("ghost", "1")), "apply", "--server-side", "-f", "-", "--dry-run=server", "-o", "json")).Ok();
            Assert.Equal("1", JsonNode.Parse(ssa.Out)!["data"]!["k"]!.GetValue<string>());
            Assert.Contains("NotFound", (await k.RunAsync("-n", Ns, "get", "configmap", "ghost")).Error);
        });
        Assert.DoesNotContain("ghost", seen);

        (await k.RunAsync(Encoding.UTF8.GetBytes(ConfigMap("real", "1")), "apply", "-f", "-")).Ok();
        var stored = JsonNode.Parse((await k.RunAsync("-n", Ns, "get", "configmap", "real", "-o", "json")).Ok().Out)!;
        seen = await WatchedDuringAsync(http, stored["metadata"]!["resourceVersion"]!.GetValue<string>(), "marker-2", async () =>
        {
            var patched = (await k.RunAsync("-n", Ns, "patch", "configmap", "real", "--type=merge", "-p", """{"data":{"k":"2"}}""", "--dry-run=server", "-o", "json")).Ok();
            Assert.Equal("2", JsonNode.Parse(patched.Out)!["data"]!["k"]!.GetValue<string>());
            (await k.RunAsync(Encoding.UTF8.GetBytes(ConfigMap("real", "3")), "apply", "-f", "-", "--dry-run=server")).Ok();
            (await k.RunAsync(Encoding.UTF8.GetBytes(ConfigMap("real", "4")), "apply", "--server-side", "--force-conflicts", "-f", "-", "--dry-run=server")).Ok();
            Assert.Contains("configmap \"real\" deleted (server dry run)", (await k.RunAsync("-n", Ns, "delete", "configmap", "real", "--dry-run=server")).Ok().Out);
            Assert.Contains("deleted (server dry run)", (await k.RunAsync("-n", Ns, "delete", "configmaps", "--all", "--dry-run=server")).Ok().Out);
        });
        Assert.DoesNotContain("real", seen);
        Assert.DoesNotContain("marker-1", seen);
        var now = JsonNode.Parse((await k.RunAsync("-n", Ns, "get", "configmap", "real", "-o", "json")).Ok().Out)!;
        Assert.True(JsonNode.DeepEquals(stored, now), $"changed by dry runs:\n{stored}\n{now}");
    }

    [Fact]
    public async Task RawDryRun_OnUpdateStatusAndDelete_ChangesNothing_AndUnknownValueIs422()
    {
        using var http = await fx.NamespaceClientAsync(Ns, Ct);
        const string url = $"/api/v1/namespaces/{Ns}/configmaps";
        Assert.Equal(201, (int)(await http.PostAsync(url, Json.Body(Json.ConfigMap("raw", null, ("k", "1"))), Ct)).StatusCode);
        var rv = (await Json.ReadAsync(await http.GetAsync(url + "/raw", Ct)))["metadata"]!["resourceVersion"]!.GetValue<string>();
        var seen = await WatchedDuringAsync(http, rv, "marker-3", async () =>
        {
            var put = await http.PutAsync(url + "/raw?dryRun=All", Json.Body(Json.ConfigMap("raw", null, ("k", "9"))), Ct);
            Assert.Equal(200, (int)put.StatusCode);
            Assert.Equal("9", (await Json.ReadAsync(put))["data"]!["k"]!.GetValue<string>());
            var del = new HttpRequestMessage(HttpMethod.Delete, url + "/raw") { Content = Json.Body(new JsonObject { ["dryRun"] = new JsonArray("All") }) };
            Assert.Equal(200, (int)(await http.SendAsync(del, Ct)).StatusCode);
        });
        Assert.DoesNotContain("raw", seen);
        var after = await Json.ReadAsync(await http.GetAsync(url + "/raw", Ct));
        Assert.Equal("1", after["data"]!["k"]!.GetValue<string>());
        Assert.Equal(rv, after["metadata"]!["resourceVersion"]!.GetValue<string>());

        var bad = await http.PostAsync(url + "?dryRun=Foo", Json.Body(Json.ConfigMap("bad")), Ct);
        Assert.Equal(422, (int)bad.StatusCode);
        Assert.Equal("CreateOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: []string{\"Foo\"}: supported values: \"All\"",
            (await Json.ReadAsync(bad))["message"]!.GetValue<string>());
        Assert.Equal(404, (int)(await http.GetAsync(url + "/bad", Ct)).StatusCode);
    }
}
