// Objects of the wrong shape written straight into the datastore (older servers, hand edits) never break reads or namespace deletion.
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
public sealed class StoredBadObjectTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task BadStoredObjects_ListGetTableAndNamespaceDeletion_KeepWorking()
    {
        Support.Kubectl.RequireInstalled();
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var port = RuntimeProcess.FreePort();
        await using (var first = await RuntimeProcess.StartAsync(data, port))
        {
            using var http = first.CreateClient();
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces", Json.Body(new JsonObject { ["metadata"] = new JsonObject { ["name"] = "bad" } }), Ct)).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/bad/configmaps", Json.Body(Json.ConfigMap("good")), Ct)).StatusCode);
            Assert.Equal(0, await first.StopAsync(TimeSpan.FromSeconds(15)));
        }

        await using (var backend = DatastoreEndpoint.Open(data, null))
        {
            await backend.StartAsync(Ct);
            async Task Put(string key, string json) => await backend.CreateAsync(key, Encoding.UTF8.GetBytes(json), 0, Ct);
            await Put("/registry/pods/bad/p1", """
                {"kind":"Pod","apiVersion":"v1","metadata":{"name":"p1","namespace":"bad","uid":"u1","creationTimestamp":"2026-01-01T00:00:00Z","labels":"a","finalizers":[1],"ownerReferences":"zz"},
                 "spec":{"containers":[1],"nodeName":["n"]},"status":{"phase":5,"containerStatuses":[1]}}
                """);
            await Put("/registry/pods/bad/p2", """
                {"kind":"Pod","apiVersion":"v1","metadata":{"name":"p2","namespace":"bad","uid":"u2","creationTimestamp":"2026-01-01T00:00:00Z"},
                 "spec":{"containers":[{"name":"c","image":"busybox"}]},"status":{"phase":"Running"}}
                """);
            await Put("/registry/configmaps/bad/cm", """
                {"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm","namespace":"bad","uid":"u3","creationTimestamp":"2026-01-01T00:00:00Z","finalizers":[1]},"data":[1]}
                """);
            await Put("/registry/deployments/bad/d", """
                {"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"d","namespace":"bad","uid":"u5","generation":"x","creationTimestamp":"2026-01-01T00:00:00Z"},"spec":["x"],"status":"y"}
                """);
            await Put("/registry/services/bad/s", """
                {"kind":"Service","apiVersion":"v1","metadata":{"name":"s","namespace":"bad","uid":"u4","creationTimestamp":"2026-01-01T00:00:00Z"},"spec":{"ports":"x","selector":[1]}}
                """);
        }

        await using var server = await RuntimeProcess.StartAsync(data, port);
        using var cache = new TempDir();
        var kubectl = new Support.Kubectl(server.KubeconfigPath, cache.Path);
        using var client = server.CreateClient();

        var pods = (await kubectl.RunAsync("get", "pods", "-A")).Ok();
        Assert.Contains("p1", pods.Out);
        Assert.Contains("p2", pods.Out);
        Assert.Contains("Running", pods.Out);
        (await kubectl.RunAsync("get", "pods", "-A", "-o", "wide")).Ok();
        (await kubectl.RunAsync("get", "configmaps,services", "-n", "bad")).Ok();
        (await kubectl.RunAsync("describe", "pod", "p2", "-n", "bad")).Ok();

        // The raw object is served as stored; tables, selectors and watches with an initial list survive it.
        var raw = await Json.ReadAsync(await client.GetAsync("/api/v1/namespaces/bad/pods/p1", Ct));
        Assert.Equal(1, raw["spec"]!["containers"]![0]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/pods?fieldSelector=spec.nodeName%3Dn&labelSelector=a%3Db", Ct)).StatusCode);
        using var watch = await client.GetAsync("/api/v1/namespaces/bad/pods?watch=1&timeoutSeconds=1", HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(2, (await watch.Content.ReadAsStringAsync(Ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        // The scale view reads it defensively, and a well-typed update repairs a bad object.
        var scale = await client.GetAsync("/apis/apps/v1/namespaces/bad/deployments/d/scale", Ct);
        Assert.Equal(HttpStatusCode.OK, scale.StatusCode);
        (await kubectl.RunAsync("get", "deployments", "-n", "bad")).Ok();
        var repaired = await client.PutAsync("/api/v1/namespaces/bad/configmaps/cm", Json.Body(Json.ConfigMap("cm", null, ("k", "v"))), Ct);
        Assert.Equal(HttpStatusCode.OK, repaired.StatusCode);
        var fixedDeployment = new JsonObject
        {
            ["apiVersion"] = "apps/v1", ["kind"] = "Deployment", ["metadata"] = new JsonObject { ["name"] = "d" },
            ["spec"] = new JsonObject { ["replicas"] = 1, ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "d" } } },
        };
        var put = await client.PutAsync("/apis/apps/v1/namespaces/bad/deployments/d", Json.Body(fixedDeployment), Ct);
        Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync(Ct));

        // Deleting the namespace empties it, bad objects included, without a stack trace in the log.
        (await kubectl.RunAsync("delete", "namespace", "bad", "--wait=false")).Ok();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while ((await client.GetAsync("/api/v1/namespaces/bad", Ct)).StatusCode != HttpStatusCode.NotFound)
        {
            Assert.True(DateTime.UtcNow < deadline, "namespace bad still there after 20 s:\n" + server.Log);
            await Task.Delay(200, Ct);
        }
        Assert.DoesNotContain("   at ", server.Log);
    }
}
