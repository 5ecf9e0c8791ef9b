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

    /// <summary>The store's revision, as a list reports it: it moves with any write anywhere in the store.</summary>
    async Task<string> RevisionAsync(HttpClient http) =>
        (await Json.ReadAsync(await http.GetAsync("/api/v1/namespaces", Ct)))["metadata"]!["resourceVersion"]!.GetValue<string>();

    /// <summary>
    /// The revision once the controllers' own writes after a namespace is made (its ServiceAccount, its root CA
    /// ConfigMap) have settled: unchanged over two seconds.
    /// </summary>
    async Task<string> SettledRevisionAsync(HttpClient http)
    {
        var rev = await RevisionAsync(http);
        for (int i = 0; i < 30; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(2), Ct);
            var now = await RevisionAsync(http);
            if (now == rev) return rev;
            rev = now;
        }
        throw new TimeoutException("the store kept changing for a minute");
    }

    [Fact]
    public async Task KubectlDryRunServer_OnCreateApplyPatchDelete_ChangesNothing()
    {
        Support.Kubectl.RequireInstalled();
        using var http = await fx.NamespaceClientAsync(Ns, Ct);
        var k = fx.Kubectl;

        var rev = await SettledRevisionAsync(http);
        var dry = (await k.RunAsync(Encoding.UTF8.GetBytes(ConfigMap("ghost", "1")), "apply", "-f", "-", "--dry-run=server")).Ok();
        Assert.Contains("configmap/ghost created (server dry run)", dry.Out);
        var ssa = (await k.RunAsync(Encoding.UTF8.GetBytes(ConfigMap("ghost", "1")), "apply", "--server-side", "-f", "-", "--dry-run=server", "-o", "json")).Ok();
        Assert.Equal("1", JsonNode.Parse(ssa.Out)!["data"]!["k"]!.GetValue<string>());
        Assert.Contains("NotFound", (await k.RunAsync("-n", Ns, "get", "configmap", "ghost")).Error);
        Assert.Equal(rev, await RevisionAsync(http));

        (await k.RunAsync(Encoding.UTF8.GetBytes(ConfigMap("real", "1")), "apply", "-f", "-")).Ok();
        var stored = JsonNode.Parse((await k.RunAsync("-n", Ns, "get", "configmap", "real", "-o", "json")).Ok().Out)!;
        rev = await SettledRevisionAsync(http);

        var patched = (await k.RunAsync("-n", Ns, "patch", "configmap", "real", "--type=merge", "-p", """{"data":{"k":"2"}}""", "--dry-run=server", "-o", "json")).Ok();
        Assert.Equal("2", JsonNode.Parse(patched.Out)!["data"]!["k"]!.GetValue<string>());
        Assert.Equal(rev, await RevisionAsync(http));
        (await k.RunAsync(Encoding.UTF8.GetBytes(ConfigMap("real", "3")), "apply", "-f", "-", "--dry-run=server")).Ok();
        Assert.Equal(rev, await RevisionAsync(http));
        (await k.RunAsync(Encoding.UTF8.GetBytes(ConfigMap("real", "4")), "apply", "--server-side", "--force-conflicts", "-f", "-", "--dry-run=server")).Ok();
        Assert.Equal(rev, await RevisionAsync(http));
        Assert.Contains("configmap \"real\" deleted (server dry run)", (await k.RunAsync("-n", Ns, "delete", "configmap", "real", "--dry-run=server")).Ok().Out);
        Assert.Equal(rev, await RevisionAsync(http));
        Assert.Contains("deleted (server dry run)", (await k.RunAsync("-n", Ns, "delete", "configmaps", "--all", "--dry-run=server")).Ok().Out);

        var now = JsonNode.Parse((await k.RunAsync("-n", Ns, "get", "configmap", "real", "-o", "json")).Ok().Out)!;
        Assert.True(JsonNode.DeepEquals(stored, now), $"changed by dry runs:\n{stored}\n{now}");
        Assert.Equal(rev, await RevisionAsync(http));
    }

    [Fact]
    public async Task RawDryRun_OnUpdateStatusAndDelete_ChangesNothing_AndUnknownValueIs422()
    {
        using var http = await fx.NamespaceClientAsync(Ns, Ct);
        const string url = $"/api/v1/namespaces/{Ns}/configmaps";
        Assert.Equal(201, (int)(await http.PostAsync(url, Json.Body(Json.ConfigMap("raw", null, ("k", "1"))), Ct)).StatusCode);
        var rev = await SettledRevisionAsync(http);

        var put = await http.PutAsync(url + "/raw?dryRun=All", Json.Body(Json.ConfigMap("raw", null, ("k", "9"))), Ct);
        Assert.Equal(200, (int)put.StatusCode);
        Assert.Equal("9", (await Json.ReadAsync(put))["data"]!["k"]!.GetValue<string>());

        var del = new HttpRequestMessage(HttpMethod.Delete, url + "/raw") { Content = Json.Body(new JsonObject { ["dryRun"] = new JsonArray("All") }) };
        Assert.Equal(200, (int)(await http.SendAsync(del, Ct)).StatusCode);
        Assert.Equal(rev, await RevisionAsync(http));
        Assert.Equal("1", (await Json.ReadAsync(await http.GetAsync(url + "/raw", Ct)))["data"]!["k"]!.GetValue<string>());

        var bad = await http.PostAsync(url + "?dryRun=Foo", Json.Body(Json.ConfigMap("bad")), Ct);
        Assert.Equal(422, (int)bad.StatusCode);
        Assert.Equal("CreateOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: []string{\"Foo\"}: supported values: \"All\"",
            (await Json.ReadAsync(bad))["message"]!.GetValue<string>());
        Assert.Equal(404, (int)(await http.GetAsync(url + "/bad", Ct)).StatusCode);
    }
}
