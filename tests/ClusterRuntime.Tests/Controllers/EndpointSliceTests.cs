// EndpointSlices and Endpoints following pod readiness, driven and read with the real kubectl.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "External")]
public sealed class EndpointSliceTests(ServerFixture fx) : IClassFixture<ServerFixture>, IDisposable
{
    readonly TempDir _dir = new();

    Support.Kubectl K => fx.Kubectl;

    public void Dispose() => _dir.Dispose();

    async Task<string> NamespaceAsync(string name)
    {
        Support.Kubectl.RequireInstalled();
        (await K.RunAsync("create", "namespace", name)).Ok();
        return name;
    }

    async Task ApplyAsync(string ns, JsonObject obj)
    {
        var file = Path.Combine(_dir.Path, Guid.NewGuid().ToString("N") + ".json");
        await File.WriteAllTextAsync(file, obj.ToJsonString(), TestContext.Current.CancellationToken);
        (await K.RunAsync("-n", ns, "apply", "-f", file)).Ok();
    }

    static JsonObject Service(string name, bool publishNotReady = false) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Service",
        ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["tier"] = "front" } },
        ["spec"] = new JsonObject
        {
            ["selector"] = new JsonObject { ["app"] = name },
            ["publishNotReadyAddresses"] = publishNotReady,
            ["ports"] = new JsonArray(new JsonObject { ["name"] = "web", ["port"] = 80, ["targetPort"] = "http" }),
        },
    };

    static JsonObject Pod(string name, string app, string? hostname = null, string? subdomain = null)
    {
        var spec = new JsonObject
        {
            ["nodeName"] = "node-a",
            ["containers"] = new JsonArray(new JsonObject
            {
                ["name"] = "c",
                ["image"] = "nginx",
                ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["containerPort"] = 8080 }),
            }),
        };
        if (hostname is not null) spec["hostname"] = hostname;
        if (subdomain is not null) spec["subdomain"] = subdomain;
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["app"] = app } },
            ["spec"] = spec,
        };
    }

    /// <summary>What a kubelet reports: Running with an IP, Ready or not.</summary>
    async Task SetStatusAsync(string ns, string pod, string ip, bool ready)
    {
        var state = ready ? "True" : "False";
        var status = new JsonObject
        {
            ["status"] = new JsonObject
            {
                ["phase"] = "Running",
                ["podIP"] = ip,
                ["podIPs"] = new JsonArray(new JsonObject { ["ip"] = ip }),
                ["conditions"] = new JsonArray(
                    new JsonObject { ["type"] = "Ready", ["status"] = state },
                    new JsonObject { ["type"] = "ContainersReady", ["status"] = state }),
            },
        };
        (await K.RunAsync("-n", ns, "patch", "pod", pod, "--subresource=status", "--type=merge", "-p", status.ToJsonString())).Ok();
    }

    async Task<JsonObject> GetAsync(string ns, params string[] what) =>
        JsonNode.Parse((await K.RunAsync(["-n", ns, "get", .. what, "-o", "json"])).Ok().Out)!.AsObject();

    /// <summary>Polls until <paramref name="check"/> holds for what kubectl returns, failing with the last observation after 20 s.</summary>
    async Task<JsonObject> WaitAsync(string ns, string[] what, Func<JsonObject, bool> check, string expectation)
    {
        JsonObject? last = null;
        return (await Poll.UntilAsync(async () =>
        {
            var r = await K.RunAsync(["-n", ns, "get", .. what, "-o", "json"]);
            if (r.ExitCode == 0) last = JsonNode.Parse(r.Out)!.AsObject();
            return last;
        }, o => o is not null && check(o), TimeSpan.FromSeconds(20), expectation, o => o?.ToJsonString() ?? "nothing"))!;
    }

    static List<JsonObject> Endpoints(JsonObject sliceList) =>
        sliceList["items"]!.AsArray().SelectMany(s => s!["endpoints"]?.AsArray() ?? []).Select(e => e!.AsObject()).ToList();

    static string Conditions(JsonObject sliceList, string pod) =>
        Endpoints(sliceList).Where(e => e["targetRef"]?["name"]?.GetValue<string>() == pod)
            .Select(e => $"{e["conditions"]!["ready"]}/{e["conditions"]!["serving"]}/{e["conditions"]!["terminating"]}").SingleOrDefault() ?? "absent";

    static string Addresses(JsonObject endpoints, string field) =>
        string.Join(",", (endpoints["subsets"]?.AsArray() ?? []).SelectMany(s => s![field]?.AsArray() ?? []).Select(a => a!["ip"]!.GetValue<string>()).Order());

    [Fact]
    public async Task SlicesAndEndpoints_FollowPodReadiness()
    {
        var ns = await NamespaceAsync("eps-ready");
        await ApplyAsync(ns, Service("web"));
        foreach (var (pod, i) in new[] { ("web-1", 1), ("web-2", 2), ("web-3", 3) })
        {
            await ApplyAsync(ns, Pod(pod, "web", hostname: pod == "web-1" ? "one" : null, subdomain: pod == "web-1" ? "web" : null));
            await SetStatusAsync(ns, pod, $"10.42.0.{i}", ready: i != 3);
        }
        await ApplyAsync(ns, Pod("other", "other"));
        await SetStatusAsync(ns, "other", "10.42.0.9", ready: true);

        string[] slices = ["endpointslices", "-l", "kubernetes.io/service-name=web"];
        var list = await WaitAsync(ns, slices, l => Conditions(l, "web-1") == "true/true/false" && Conditions(l, "web-3") == "false/false/false"
            && Endpoints(l).Count == 3, "3 endpoints, web-3 not ready");
        var slice = list["items"]![0]!.AsObject();
        Assert.Single(list["items"]!.AsArray());
        Assert.Equal("endpointslice-controller.k8s.io", slice["metadata"]!["labels"]!["endpointslice.kubernetes.io/managed-by"]!.GetValue<string>());
        Assert.Equal("front", slice["metadata"]!["labels"]!["tier"]!.GetValue<string>());
        Assert.StartsWith("web-", slice["metadata"]!["name"]!.GetValue<string>());
        Assert.Equal("IPv4", slice["addressType"]!.GetValue<string>());
        Assert.Equal("""[{"name":"web","port":8080,"protocol":"TCP"}]""", slice["ports"]!.ToJsonString());
        var owner = slice["metadata"]!["ownerReferences"]![0]!;
        Assert.Equal("Service", owner["kind"]!.GetValue<string>());
        Assert.Equal("web", owner["name"]!.GetValue<string>());
        var first = Endpoints(list).Single(e => e["targetRef"]!["name"]!.GetValue<string>() == "web-1");
        Assert.Equal("one", first["hostname"]!.GetValue<string>());
        Assert.Equal("node-a", first["nodeName"]!.GetValue<string>());
        Assert.Equal("10.42.0.1", first["addresses"]![0]!.GetValue<string>());

        var ep = await WaitAsync(ns, ["endpoints", "web"], e => Addresses(e, "addresses") == "10.42.0.1,10.42.0.2" && Addresses(e, "notReadyAddresses") == "10.42.0.3",
            "Endpoints with 2 ready and 1 not ready");
        Assert.Equal("""[{"name":"web","port":8080,"protocol":"TCP"}]""", ep["subsets"]![0]!["ports"]!.ToJsonString());

        // Deleting web-2 (bound, no kubelet here to finish it) leaves it Terminating: the slice keeps it as serving but
        // terminating and not ready, the Endpoints drop it.
        (await K.RunAsync("-n", ns, "delete", "pod", "web-2", "--wait=false")).Ok();
        await WaitAsync(ns, slices, l => Conditions(l, "web-2") == "false/true/true", "web-2 terminating in the slice");
        await WaitAsync(ns, ["endpoints", "web"], e => Addresses(e, "addresses") == "10.42.0.1" && Addresses(e, "notReadyAddresses") == "10.42.0.3",
            "Endpoints without the terminating web-2");

        // web-3 turns Ready, web-1 stops being Ready, web-2 is force-deleted.
        await SetStatusAsync(ns, "web-3", "10.42.0.3", ready: true);
        await SetStatusAsync(ns, "web-1", "10.42.0.1", ready: false);
        (await K.RunAsync("-n", ns, "delete", "pod", "web-2", "--grace-period=0", "--force")).Ok();
        await WaitAsync(ns, slices, l => Conditions(l, "web-3") == "true/true/false" && Conditions(l, "web-1") == "false/false/false" && Conditions(l, "web-2") == "absent",
            "web-3 ready, web-1 not ready, web-2 gone");
        await WaitAsync(ns, ["endpoints", "web"], e => Addresses(e, "addresses") == "10.42.0.3" && Addresses(e, "notReadyAddresses") == "10.42.0.1",
            "Endpoints with web-3 ready and web-1 not ready");

        var table = (await K.RunAsync("-n", ns, "get", "endpoints", "web")).Ok().Out;
        Assert.Matches(@"(?m)^web\s+10\.42\.0\.3:8080\s", table);

        // Deleting the Service deletes its slices and Endpoints.
        (await K.RunAsync("-n", ns, "delete", "svc", "web")).Ok();
        await WaitAsync(ns, slices, l => l["items"]!.AsArray().Count == 0, "no slices after the Service is deleted");
        var gone = await K.RunAsync("-n", ns, "get", "endpoints", "web");
        Assert.Contains("NotFound", gone.Error);
    }

    [Fact]
    public async Task PublishNotReadyAddresses_ListsNotReadyPodsAsReady()
    {
        var ns = await NamespaceAsync("eps-publish");
        await ApplyAsync(ns, Service("db", publishNotReady: true));
        await ApplyAsync(ns, Pod("db-0", "db"));
        await SetStatusAsync(ns, "db-0", "10.42.1.5", ready: false);
        await WaitAsync(ns, ["endpointslices", "-l", "kubernetes.io/service-name=db"], l => Conditions(l, "db-0") == "true/false/false",
            "db-0 ready (published) but not serving");
        await WaitAsync(ns, ["endpoints", "db"], e => Addresses(e, "addresses") == "10.42.1.5" && Addresses(e, "notReadyAddresses") == "",
            "db-0 under addresses");
    }

    [Fact]
    public async Task ServiceWithoutPods_HasAnEmptyPlaceholderSlice_AndSelectorlessServicesAreLeftAlone()
    {
        var ns = await NamespaceAsync("eps-empty");
        await ApplyAsync(ns, Service("lonely"));
        var placeholder = await WaitAsync(ns, ["endpointslices", "-l", "kubernetes.io/service-name=lonely"], l => l["items"]!.AsArray().Count == 1, "a placeholder slice");
        Assert.Empty(placeholder["items"]![0]!["endpoints"]?.AsArray() ?? []);
        await WaitAsync(ns, ["endpoints", "lonely"], e => e["subsets"] is null, "empty Endpoints");

        var manual = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = new JsonObject { ["name"] = "external" },
            ["spec"] = new JsonObject { ["ports"] = new JsonArray(new JsonObject { ["port"] = 5432 }) },
        };
        await ApplyAsync(ns, manual);
        await ApplyAsync(ns, new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Endpoints",
            ["metadata"] = new JsonObject { ["name"] = "external" },
            ["subsets"] = new JsonArray(new JsonObject
            {
                ["addresses"] = new JsonArray(new JsonObject { ["ip"] = "192.0.2.50" }),
                ["ports"] = new JsonArray(new JsonObject { ["port"] = 5432 }),
            }),
        });
        // Give the controllers time to act wrongly, marked by a later change they do act on.
        await ApplyAsync(ns, Pod("lonely-0", "lonely"));
        await SetStatusAsync(ns, "lonely-0", "10.42.2.7", ready: true);
        await WaitAsync(ns, ["endpoints", "lonely"], e => Addresses(e, "addresses") == "10.42.2.7", "lonely-0 in Endpoints");
        var external = await GetAsync(ns, "endpoints", "external");
        Assert.Equal("192.0.2.50", external["subsets"]![0]!["addresses"]![0]!["ip"]!.GetValue<string>());
        Assert.Empty((await GetAsync(ns, "endpointslices", "-l", "kubernetes.io/service-name=external"))["items"]!.AsArray());
    }

    [Fact]
    public async Task MoreThan100Endpoints_AreSplitIntoSlicesOfAtMost100()
    {
        var ns = await NamespaceAsync("eps-many");
        await ApplyAsync(ns, Service("many"));
        using var http = fx.Server.CreateClient();
        var ct = TestContext.Current.CancellationToken;
        async Task SendAsync(HttpMethod method, string path, JsonObject body, string type)
        {
            HttpResponseMessage r;
            do r = await http.SendAsync(new HttpRequestMessage(method, path) { Content = Json.Body(body, type) }, ct);
            while (r.StatusCode == System.Net.HttpStatusCode.TooManyRequests && await Task.Delay(100, ct).ContinueWith(_ => true, ct));
            Assert.True(r.IsSuccessStatusCode, $"{method} {path}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync(ct)}");
        }
        await Task.WhenAll(Enumerable.Range(0, 105).Select(async i =>
        {
            await SendAsync(HttpMethod.Post, $"/api/v1/namespaces/{ns}/pods", Pod($"many-{i}", "many"), "application/json");
            var status = new JsonObject
            {
                ["status"] = new JsonObject
                {
                    ["phase"] = "Running",
                    ["podIP"] = $"10.42.{i / 200 + 3}.{i % 200 + 1}",
                    ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
                },
            };
            await SendAsync(HttpMethod.Patch, $"/api/v1/namespaces/{ns}/pods/many-{i}/status", status, "application/merge-patch+json");
        }));
        var list = await WaitAsync(ns, ["endpointslices", "-l", "kubernetes.io/service-name=many"], l => Endpoints(l).Count == 105, "105 endpoints");
        var sizes = list["items"]!.AsArray().Select(sl => sl!["endpoints"]?.AsArray().Count ?? 0).Order().ToList();
        Assert.Equal([5, 100], sizes);
        Assert.Equal(105, Endpoints(list).Select(e => e["addresses"]![0]!.GetValue<string>()).Distinct().Count());
    }
}
