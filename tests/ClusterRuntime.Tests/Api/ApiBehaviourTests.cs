// HTTP-level behaviour of the real server: authentication, Status errors, conflicts, paging, subresources, discovery.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
public sealed class ApiBehaviourTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    Task<HttpClient> NamespaceAsync(string ns) => fx.NamespaceClientAsync(ns, Ct);

    [Fact]
    public async Task Anonymous_Gets401Status_HealthStaysPublic()
    {
        using var anon = fx.Server.CreateClient(admin: false);
        var r = await anon.GetAsync("/api/v1/namespaces", Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        var status = await Json.ReadAsync(r);
        Assert.Equal("Status", status["kind"]!.GetValue<string>());
        Assert.Equal("Unauthorized", status["reason"]!.GetValue<string>());
        Assert.Equal(401, status["code"]!.GetValue<int>());

        anon.DefaultRequestHeaders.Authorization = new("Bearer", "not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anon.GetAsync("/api/v1/namespaces", Ct)).StatusCode);

        foreach (var path in new[] { "/healthz", "/livez", "/readyz", "/version" })
            Assert.Equal(HttpStatusCode.OK, (await anon.GetAsync(path, Ct)).StatusCode);
    }

    [Fact]
    public async Task BearerTokens_AdminTokenAndNodeTokenSecret_Authenticate()
    {
        using var client = fx.Server.CreateClient(admin: false);
        var adminToken = File.ReadAllText(Path.Combine(fx.Server.DataDir, "admin-token")).Trim();
        client.DefaultRequestHeaders.Authorization = new("Bearer", adminToken);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/namespaces", Ct)).StatusCode);

        var nodeToken = File.ReadAllText(Path.Combine(fx.Server.DataDir, "token")).Trim();
        client.DefaultRequestHeaders.Authorization = new("Bearer", nodeToken[(nodeToken.LastIndexOf(':') + 1)..]);
        // The join token authenticates, but only for joining (HardeningTests has the whole rule).
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/api/v1/nodes", Ct)).StatusCode);
    }

    [Fact]
    public async Task TwoUpdatesFromTheSameResourceVersion_ExactlyOneConflict()
    {
        using var http = await NamespaceAsync("api-conflict");
        var created = await Json.ReadAsync(await http.PostAsync("/api/v1/namespaces/api-conflict/configmaps", Json.Body(Json.ConfigMap("race", null, ("n", "0"))), Ct));
        var rv = created["metadata"]!["resourceVersion"]!.GetValue<string>();
        for (int round = 0; round < 10; round++)
        {
            var current = await Json.ReadAsync(await http.GetAsync("/api/v1/namespaces/api-conflict/configmaps/race", Ct));
            rv = current["metadata"]!["resourceVersion"]!.GetValue<string>();
            var a = http.PutAsync("/api/v1/namespaces/api-conflict/configmaps/race", Json.Body(Json.ConfigMap("race", rv, ("n", $"a{round}"))), Ct);
            var b = http.PutAsync("/api/v1/namespaces/api-conflict/configmaps/race", Json.Body(Json.ConfigMap("race", rv, ("n", $"b{round}"))), Ct);
            var codes = (await Task.WhenAll(a, b)).Select(r => r.StatusCode).OrderBy(c => (int)c).ToArray();
            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Conflict], codes);
        }
        var stale = await http.PutAsync("/api/v1/namespaces/api-conflict/configmaps/race", Json.Body(Json.ConfigMap("race", rv)), Ct);
        var status = await Json.ReadAsync(stale);
        Assert.Equal(409, status["code"]!.GetValue<int>());
        Assert.Equal("Conflict", status["reason"]!.GetValue<string>());
        Assert.Contains("the object has been modified", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Errors_AreStatusObjects_WithReasonAndCode()
    {
        using var http = await NamespaceAsync("api-errors");
        async Task Expect(HttpResponseMessage r, int code, string reason)
        {
            var s = await Json.ReadAsync(r);
            Assert.Equal(code, (int)r.StatusCode);
            Assert.Equal("Status", s["kind"]!.GetValue<string>());
            Assert.Equal("Failure", s["status"]!.GetValue<string>());
            Assert.Equal(reason, s["reason"]!.GetValue<string>());
            Assert.Equal(code, s["code"]!.GetValue<int>());
        }
        await Expect(await http.GetAsync("/api/v1/namespaces/api-errors/configmaps/missing", Ct), 404, "NotFound");
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/api-errors/configmaps", Json.Body(Json.ConfigMap("dup")), Ct)).StatusCode);
        await Expect(await http.PostAsync("/api/v1/namespaces/api-errors/configmaps", Json.Body(Json.ConfigMap("dup")), Ct), 409, "AlreadyExists");
        await Expect(await http.PostAsync("/api/v1/namespaces/api-errors/configmaps", Json.Body(Json.ConfigMap("Not_Valid")), Ct), 422, "Invalid");
        await Expect(await http.PostAsync("/api/v1/namespaces/api-errors/configmaps", new StringContent("{nope", System.Text.Encoding.UTF8, "application/json"), Ct), 400, "BadRequest");
        await Expect(await http.PostAsync("/api/v1/namespaces/api-errors/configmaps/dup", Json.Body(Json.ConfigMap("dup")), Ct), 405, "MethodNotAllowed");
        await Expect(await http.PostAsync("/api/v1/namespaces/no-such-ns/configmaps", Json.Body(Json.ConfigMap("x")), Ct), 404, "NotFound");
        await Expect(await http.GetAsync("/api/v1/namespaces/api-errors/configmaps?labelSelector=a%20in%20(", Ct), 400, "BadRequest");
        await Expect(await http.DeleteAsync("/api/v1/namespaces/kube-system", Ct), 403, "Forbidden");
        await Expect(await http.PatchAsync("/api/v1/namespaces/api-errors/configmaps/dup", Json.Body(new JsonObject(), "application/yaml"), Ct), 415, "UnsupportedMediaType");
    }

    [Fact]
    public async Task Create_FillsMetadata_GenerateName_AndGenerationBumpsOnSpecChangeOnly()
    {
        using var http = await NamespaceAsync("api-meta");
        var cm = Json.ConfigMap("");
        cm["metadata"]!.AsObject().Remove("name");
        cm["metadata"]!["generateName"] = "gen-";
        var created = await Json.ReadAsync(await http.PostAsync("/api/v1/namespaces/api-meta/configmaps", Json.Body(cm), Ct));
        Assert.Matches("^gen-[a-z0-9]{5}$", created["metadata"]!["name"]!.GetValue<string>());
        Assert.Matches("^[0-9a-f-]{36}$", created["metadata"]!["uid"]!.GetValue<string>());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", created["metadata"]!["creationTimestamp"]!.GetValue<string>());

        var deploy = new JsonObject
        {
            ["apiVersion"] = "apps/v1", ["kind"] = "Deployment",
            ["metadata"] = new JsonObject { ["name"] = "web" },
            ["spec"] = new JsonObject { ["replicas"] = 1, ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "web" } } },
        };
        var d = await Json.ReadAsync(await http.PostAsync("/apis/apps/v1/namespaces/api-meta/deployments", Json.Body(deploy), Ct));
        Assert.Equal(1, d["metadata"]!["generation"]!.GetValue<long>());

        // A label change keeps the generation; a spec change bumps it.
        var labelled = await Json.ReadAsync(await http.PatchAsync("/apis/apps/v1/namespaces/api-meta/deployments/web",
            Json.Body(new JsonObject { ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["x"] = "y" } } }, "application/merge-patch+json"), Ct));
        Assert.Equal(1, labelled["metadata"]!["generation"]!.GetValue<long>());
        var scaled = await Json.ReadAsync(await http.PatchAsync("/apis/apps/v1/namespaces/api-meta/deployments/web",
            Json.Body(new JsonObject { ["spec"] = new JsonObject { ["replicas"] = 3 } }, "application/strategic-merge-patch+json"), Ct));
        Assert.Equal(2, scaled["metadata"]!["generation"]!.GetValue<long>());

        // status: the status subresource changes only status.
        var withStatus = scaled.DeepClone().AsObject();
        withStatus["status"] = new JsonObject { ["replicas"] = 3, ["readyReplicas"] = 2 };
        withStatus["spec"]!["replicas"] = 9;
        withStatus["metadata"]!.AsObject().Remove("resourceVersion"); // the Deployment controller writes too: no precondition
        var afterStatus = await Json.ReadAsync(await http.PutAsync("/apis/apps/v1/namespaces/api-meta/deployments/web/status", Json.Body(withStatus), Ct));
        Assert.Equal(3, afterStatus["spec"]!["replicas"]!.GetValue<long>());
        Assert.Equal(2, afterStatus["status"]!["readyReplicas"]!.GetValue<long>());

        // scale subresource.
        var scale = await Json.ReadAsync(await http.GetAsync("/apis/apps/v1/namespaces/api-meta/deployments/web/scale", Ct));
        Assert.Equal("Scale", scale["kind"]!.GetValue<string>());
        Assert.Equal(3, scale["spec"]!["replicas"]!.GetValue<long>());
        Assert.Equal("app=web", scale["status"]!["selector"]!.GetValue<string>());
        scale["spec"]!["replicas"] = 5;
        scale["metadata"]!.AsObject().Remove("resourceVersion");
        var newScale = await Json.ReadAsync(await http.PutAsync("/apis/apps/v1/namespaces/api-meta/deployments/web/scale", Json.Body(scale), Ct));
        Assert.Equal(5, newScale["spec"]!["replicas"]!.GetValue<long>());
        var final = await Json.ReadAsync(await http.GetAsync("/apis/apps/v1/namespaces/api-meta/deployments/web", Ct));
        Assert.Equal(5, final["spec"]!["replicas"]!.GetValue<long>());
        Assert.Equal(2, final["status"]!["readyReplicas"]!.GetValue<long>());
    }

    [Fact]
    public async Task List_LimitAndContinue_PagesAtOneRevision_AndResourceVersionSemantics()
    {
        using var http = await NamespaceAsync("api-page");
        for (int i = 0; i < 7; i++)
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/api-page/configmaps", Json.Body(Json.ConfigMap($"cm-{i}")), Ct)).StatusCode);
        var names = new List<string>();
        string? token = null;
        string? listRv = null;
        int pages = 0;
        do
        {
            var url = "/api/v1/namespaces/api-page/configmaps?limit=3" + (token is null ? "" : "&continue=" + Uri.EscapeDataString(token));
            var page = await Json.ReadAsync(await http.GetAsync(url, Ct));
            Assert.Equal("ConfigMapList", page["kind"]!.GetValue<string>());
            names.AddRange(page["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()));
            Assert.All(page["items"]!.AsArray(), i => Assert.Matches(@"^\d+$", i!["metadata"]!["resourceVersion"]!.GetValue<string>()));
            listRv ??= page["metadata"]!["resourceVersion"]!.GetValue<string>();
            Assert.Equal(listRv, page["metadata"]!["resourceVersion"]!.GetValue<string>());
            token = page["metadata"]!["continue"]?.GetValue<string>();
            pages++;
            if (pages == 1)
            {
                // A write between pages does not show up in later pages: they read at the first page's revision.
                await http.PostAsync("/api/v1/namespaces/api-page/configmaps", Json.Body(Json.ConfigMap("cm-9-late")), Ct);
            }
        } while (token is not null);
        // Seven plus the namespace's kube-root-ca.crt, in key order.
        Assert.Equal(3, pages);
        Assert.Equal([.. Enumerable.Range(0, 7).Select(i => $"cm-{i}"), "kube-root-ca.crt"], names);

        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/v1/namespaces/api-page/configmaps?limit=2&continue=garbage", Ct)).StatusCode);
        // Exact: the list as it was at listRv (before cm-9-late).
        var exact = await Json.ReadAsync(await http.GetAsync($"/api/v1/namespaces/api-page/configmaps?resourceVersion={listRv}&resourceVersionMatch=Exact", Ct));
        Assert.Equal(8, exact["items"]!.AsArray().Count);
        var any = await Json.ReadAsync(await http.GetAsync("/api/v1/namespaces/api-page/configmaps?resourceVersion=0", Ct));
        Assert.Equal(9, any["items"]!.AsArray().Count);
        var future = await http.GetAsync("/api/v1/namespaces/api-page/configmaps?resourceVersion=999999999", Ct);
        Assert.Equal(HttpStatusCode.GatewayTimeout, future.StatusCode);

        // All-namespaces list and deletecollection with a selector.
        var all = await Json.ReadAsync(await http.GetAsync("/api/v1/configmaps?fieldSelector=metadata.namespace%3Dapi-page", Ct));
        Assert.Equal(9, all["items"]!.AsArray().Count);
        // kube-root-ca.crt is kept out of it: its publisher would put it back at any moment.
        var del = await http.DeleteAsync("/api/v1/namespaces/api-page/configmaps?fieldSelector=metadata.name%21%3Dcm-0,metadata.name%21%3Dkube-root-ca.crt", Ct);
        Assert.Equal(HttpStatusCode.OK, del.StatusCode);
        var left = await Json.ReadAsync(await http.GetAsync("/api/v1/namespaces/api-page/configmaps", Ct));
        Assert.Equal(["cm-0", "kube-root-ca.crt"], left["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Watch_StreamsOrderedEvents_FromAResourceVersion_AndEndsAtTimeout()
    {
        using var http = await NamespaceAsync("api-watch");
        var list = await Json.ReadAsync(await http.GetAsync("/api/v1/namespaces/api-watch/configmaps", Ct));
        var rv = list["metadata"]!["resourceVersion"]!.GetValue<string>();
        await http.PostAsync("/api/v1/namespaces/api-watch/configmaps", Json.Body(Json.ConfigMap("w", null, ("v", "1"))), Ct);
        await http.PatchAsync("/api/v1/namespaces/api-watch/configmaps/w", Json.Body(new JsonObject { ["data"] = new JsonObject { ["v"] = "2" } }, "application/merge-patch+json"), Ct);
        await http.DeleteAsync("/api/v1/namespaces/api-watch/configmaps/w", Ct);

        foreach (var flag in new[] { "watch=1", "watch=true" })
        {
            var started = DateTime.UtcNow;
            using var response = await http.GetAsync($"/api/v1/namespaces/api-watch/configmaps?{flag}&resourceVersion={rv}&timeoutSeconds=2", HttpCompletionOption.ResponseHeadersRead, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadAsStringAsync(Ct);
            Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(10));
            var events = body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
            Assert.Equal(["ADDED", "MODIFIED", "DELETED"], events.Select(e => e["type"]!.GetValue<string>()));
            Assert.Equal("2", events[1]["object"]!["data"]!["v"]!.GetValue<string>());
            var rvs = events.Select(e => long.Parse(e["object"]!["metadata"]!["resourceVersion"]!.GetValue<string>())).ToList();
            Assert.Equal(rvs.OrderBy(x => x), rvs);
        }
    }

    [Fact]
    public async Task Watch_SendInitialEvents_EndsWithTheInitialEventsBookmark_AndSelectorsFilter()
    {
        using var http = await NamespaceAsync("api-watch-initial");
        foreach (var (name, tier) in new[] { ("a", "web"), ("b", "db") })
        {
            var cm = Json.ConfigMap(name);
            cm["metadata"]!["labels"] = new JsonObject { ["tier"] = tier };
            await http.PostAsync("/api/v1/namespaces/api-watch-initial/configmaps", Json.Body(cm), Ct);
        }
        using var response = await http.GetAsync("/api/v1/namespaces/api-watch-initial/configmaps?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&labelSelector=tier%3Dweb&timeoutSeconds=1",
            HttpCompletionOption.ResponseHeadersRead, Ct);
        var events = (await response.Content.ReadAsStringAsync(Ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(["ADDED", "BOOKMARK"], events.Select(e => e["type"]!.GetValue<string>()));
        Assert.Equal("a", events[0]["object"]!["metadata"]!["name"]!.GetValue<string>());
        Assert.Equal("true", events[1]["object"]!["metadata"]!["annotations"]!["k8s.io/initial-events-end"]!.GetValue<string>());
    }

    [Fact]
    public async Task Discovery_AggregatedV2AndV2beta1_AndLegacy()
    {
        using var http = fx.Server.CreateClient();
        foreach (var v in new[] { "v2", "v2beta1" })
        {
            var req = new HttpRequestMessage(HttpMethod.Get, "/apis");
            req.Headers.TryAddWithoutValidation("Accept", $"application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList,application/json");
            var r = await http.SendAsync(req, Ct);
            var type = r.Content.Headers.ContentType!;
            Assert.Equal("application/json", type.MediaType);
            var parameters = type.Parameters.ToDictionary(p => p.Name, p => p.Value);
            Assert.Equal("apidiscovery.k8s.io", parameters["g"]);
            Assert.Equal(v, parameters["v"]);
            Assert.Equal("APIGroupDiscoveryList", parameters["as"]);
            var doc = await Json.ReadAsync(r);
            Assert.Equal("APIGroupDiscoveryList", doc["kind"]!.GetValue<string>());
            var apps = doc["items"]!.AsArray().Single(i => i!["metadata"]!["name"]?.GetValue<string>() == "apps")!;
            var deployments = apps["versions"]![0]!["resources"]!.AsArray().Single(x => x!["resource"]!.GetValue<string>() == "deployments")!;
            Assert.Equal("Namespaced", deployments["scope"]!.GetValue<string>());
            Assert.Contains(deployments["subresources"]!.AsArray(), s => s!["subresource"]!.GetValue<string>() == "scale");
        }
        var legacy = await http.GetAsync("/api/v1", Ct);
        Assert.Equal("application/json", legacy.Content.Headers.ContentType!.MediaType);
        var resources = (await Json.ReadAsync(legacy))["resources"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()).ToList();
        Assert.Contains("configmaps", resources);
        Assert.Contains("pods/status", resources);
        var groups = await Json.ReadAsync(await http.GetAsync("/apis", Ct));
        Assert.Equal("APIGroupList", groups["kind"]!.GetValue<string>());
        Assert.Contains(groups["groups"]!.AsArray(), g => g!["name"]!.GetValue<string>() == "coordination.k8s.io");
        var appsV1 = await Json.ReadAsync(await http.GetAsync("/apis/apps/v1", Ct));
        Assert.Contains(appsV1["resources"]!.AsArray(), r => r!["name"]!.GetValue<string>() == "deployments/scale");
    }

    [Fact]
    public async Task Kubectl_UsesAggregatedDiscovery()
    {
        Support.Kubectl.RequireInstalled();
        var r = (await fx.Kubectl.RunAsync("api-resources", "-v=6")).Ok();
        // With aggregated discovery kubectl needs only /api and /apis; the legacy path would also fetch /apis/<g>/<v>.
        Assert.Contains("/apis?timeout=", r.Error);
        Assert.DoesNotContain("/apis/apps/v1?timeout", r.Error);
    }

    [Fact]
    public async Task Table_IsServedForTheTableAcceptHeader()
    {
        using var http = fx.Server.CreateClient();
        var req = new HttpRequestMessage(HttpMethod.Get, "/api/v1/namespaces");
        req.Headers.TryAddWithoutValidation("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json");
        var table = await Json.ReadAsync(await http.SendAsync(req, Ct));
        Assert.Equal("Table", table["kind"]!.GetValue<string>());
        Assert.Equal(["Name", "Status", "Age"], table["columnDefinitions"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()));
        Assert.Contains(table["rows"]!.AsArray(), row => row!["cells"]![0]!.GetValue<string>() == "kube-system");
        Assert.Equal("PartialObjectMetadata", table["rows"]![0]!["object"]!["kind"]!.GetValue<string>());
    }
}
