// Service ClusterIP/NodePort allocation and the kubernetes Service, driven with the real kubectl.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "External")]
public sealed class ServiceTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static readonly IPNetwork ServiceCidr = IPNetwork.Parse("10.43.0.0/16");

    Support.Kubectl K => fx.Kubectl;

    async Task<string> NamespaceAsync(string name)
    {
        Support.Kubectl.RequireInstalled();
        (await K.RunAsync("create", "namespace", name)).Ok();
        return name;
    }

    async Task<JsonObject> GetAsync(string ns, string kind, string name) =>
        JsonNode.Parse((await K.RunAsync("-n", ns, "get", kind, name, "-o", "json")).Ok().Out)!.AsObject();

    [Fact]
    public async Task TwoServices_GetDistinctClusterIPsInRange_WithUpstreamDefaults()
    {
        var ns = await NamespaceAsync("svc-distinct");
        (await K.RunAsync("-n", ns, "create", "service", "clusterip", "a", "--tcp=80:8080")).Ok();
        (await K.RunAsync("-n", ns, "create", "service", "clusterip", "b", "--tcp=80:8080")).Ok();
        var a = await GetAsync(ns, "svc", "a");
        var b = await GetAsync(ns, "svc", "b");
        var ipA = a["spec"]!["clusterIP"]!.GetValue<string>();
        var ipB = b["spec"]!["clusterIP"]!.GetValue<string>();
        Assert.NotEqual(ipA, ipB);
        foreach (var (svc, ip) in new[] { (a, ipA), (b, ipB) })
        {
            Assert.True(ServiceCidr.Contains(IPAddress.Parse(ip)), $"{ip} is not in {ServiceCidr}");
            Assert.NotEqual("10.43.0.1", ip);
            Assert.NotEqual("10.43.0.10", ip);
            var spec = svc["spec"]!;
            Assert.Equal($"[\"{ip}\"]", spec["clusterIPs"]!.ToJsonString());
            Assert.Equal("[\"IPv4\"]", spec["ipFamilies"]!.ToJsonString());
            Assert.Equal("SingleStack", spec["ipFamilyPolicy"]!.GetValue<string>());
            Assert.Equal("ClusterIP", spec["type"]!.GetValue<string>());
            Assert.Equal("None", spec["sessionAffinity"]!.GetValue<string>());
            Assert.Equal("Cluster", spec["internalTrafficPolicy"]!.GetValue<string>());
            Assert.Equal("TCP", spec["ports"]![0]!["protocol"]!.GetValue<string>());
            Assert.Equal(8080, spec["ports"]![0]!["targetPort"]!.GetValue<int>());
        }
        var table = (await K.RunAsync("-n", ns, "get", "svc")).Ok().Out;
        Assert.Matches($@"(?m)^a\s+ClusterIP\s+{Regex(ipA)}\s+<none>\s+80/TCP", table);
    }

    [Fact]
    public async Task Headless_And_NodePort_AreFilledAsUpstream()
    {
        var ns = await NamespaceAsync("svc-kinds");
        (await K.RunAsync("-n", ns, "create", "service", "clusterip", "headless", "--clusterip=None")).Ok();
        var headless = (await GetAsync(ns, "svc", "headless"))["spec"]!;
        Assert.Equal("None", headless["clusterIP"]!.GetValue<string>());
        Assert.Equal("[\"None\"]", headless["clusterIPs"]!.ToJsonString());
        Assert.Equal("SingleStack", headless["ipFamilyPolicy"]!.GetValue<string>()); // kubectl gives it the selector app=headless

        (await K.RunAsync("-n", ns, "create", "service", "nodeport", "np", "--tcp=80:8080")).Ok();
        var np = (await GetAsync(ns, "svc", "np"))["spec"]!;
        var nodePort = np["ports"]![0]!["nodePort"]!.GetValue<int>();
        Assert.InRange(nodePort, 30000, 32767);
        Assert.Equal("Cluster", np["externalTrafficPolicy"]!.GetValue<string>());
        Assert.True(ServiceCidr.Contains(IPAddress.Parse(np["clusterIP"]!.GetValue<string>())));
    }

    [Fact]
    public async Task KubernetesService_HasTheFirstAddress_AndThisServerAsEndpoint()
    {
        Support.Kubectl.RequireInstalled();
        var svc = await GetAsync("default", "svc", "kubernetes");
        Assert.Equal("10.43.0.1", svc["spec"]!["clusterIP"]!.GetValue<string>());
        var port = svc["spec"]!["ports"]![0]!;
        Assert.Equal("https", port["name"]!.GetValue<string>());
        Assert.Equal(443, port["port"]!.GetValue<int>());
        Assert.Equal(fx.Server.Port, port["targetPort"]!.GetValue<int>());

        var ep = await GetAsync("default", "endpoints", "kubernetes");
        var subset = ep["subsets"]![0]!;
        Assert.Equal("127.0.0.1", subset["addresses"]![0]!["ip"]!.GetValue<string>()); // --bind-address 127.0.0.1
        Assert.Equal(fx.Server.Port, subset["ports"]![0]!["port"]!.GetValue<int>());

        var slice = await GetAsync("default", "endpointslices", "kubernetes");
        Assert.Equal("kubernetes", slice["metadata"]!["labels"]!["kubernetes.io/service-name"]!.GetValue<string>());
        Assert.Equal("127.0.0.1", slice["endpoints"]![0]!["addresses"]![0]!.GetValue<string>());
        Assert.True(slice["endpoints"]![0]!["conditions"]!["ready"]!.GetValue<bool>());
    }

    [Fact]
    public async Task RequestedClusterIP_TakenOrOutOfRange_IsRefused422()
    {
        var ns = await NamespaceAsync("svc-dup-ip");
        (await K.RunAsync("-n", ns, "create", "service", "clusterip", "first", "--clusterip=10.43.0.50", "--tcp=80")).Ok();
        var dup = await K.RunAsync("-n", ns, "create", "service", "clusterip", "second", "--clusterip=10.43.0.50", "--tcp=80");
        Assert.NotEqual(0, dup.ExitCode);
        Assert.Contains("Service \"second\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.43.0.50\"}: failed to allocate IP 10.43.0.50: provided IP is already allocated", dup.Error);

        var outside = await K.RunAsync("-n", ns, "create", "service", "clusterip", "third", "--clusterip=10.99.0.1", "--tcp=80");
        Assert.NotEqual(0, outside.ExitCode);
        Assert.Contains("failed to allocate IP 10.99.0.1: the provided IP (10.99.0.1) is not in the valid range. The range of valid IPs is 10.43.0.0/16", outside.Error);

        // The status code is 422 Invalid (kubectl hides it; ask over HTTP).
        using var http = fx.Server.CreateClient();
        var body = new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "fourth" },
            ["spec"] = new JsonObject { ["clusterIP"] = "10.43.0.50", ["ports"] = new JsonArray(new JsonObject { ["port"] = 80 }) },
        };
        var r = await http.PostAsync($"/api/v1/namespaces/{ns}/services", Json.Body(body), TestContext.Current.CancellationToken);
        Assert.Equal((HttpStatusCode)422, r.StatusCode);
        Assert.Equal("Invalid", (await Json.ReadAsync(r))["reason"]!.GetValue<string>());
        Assert.Equal("10.43.0.50", (await GetAsync(ns, "svc", "first"))["spec"]!["clusterIP"]!.GetValue<string>());
    }

    [Fact]
    public async Task RequestedNodePort_TakenOrOutOfRange_IsRefused422()
    {
        var ns = await NamespaceAsync("svc-dup-port");
        (await K.RunAsync("-n", ns, "create", "service", "nodeport", "first", "--tcp=80:8080", "--node-port=30080")).Ok();
        var dup = await K.RunAsync("-n", ns, "create", "service", "nodeport", "second", "--tcp=80:8080", "--node-port=30080");
        Assert.NotEqual(0, dup.ExitCode);
        Assert.Contains("Service \"second\" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated", dup.Error);

        var outside = await K.RunAsync("-n", ns, "create", "service", "nodeport", "third", "--tcp=80:8080", "--node-port=40000");
        Assert.NotEqual(0, outside.ExitCode);
        Assert.Contains("spec.ports[0].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767", outside.Error);

        // A refused create gives back what it had claimed: its ClusterIP is free for the next Service.
        (await K.RunAsync("-n", ns, "create", "service", "nodeport", "fourth", "--tcp=80:8080", "--node-port=30081")).Ok();
    }

    [Fact]
    public async Task ClusterIP_IsImmutable_AReplaceWithoutItKeepsIt_AndDeleteFreesIt()
    {
        var ns = await NamespaceAsync("svc-update");
        (await K.RunAsync("-n", ns, "create", "service", "clusterip", "web", "--clusterip=10.43.0.60", "--tcp=80:8080")).Ok();
        // An update to NodePort claims the nodePort it asks for.
        (await K.RunAsync("-n", ns, "patch", "svc", "web", "--type=json", "-p",
            "[{\"op\":\"replace\",\"path\":\"/spec/type\",\"value\":\"NodePort\"},{\"op\":\"add\",\"path\":\"/spec/ports/0/nodePort\",\"value\":30090}]")).Ok();
        var taken = await K.RunAsync("-n", ns, "create", "service", "nodeport", "clash", "--tcp=80:8080", "--node-port=30090");
        Assert.Contains("spec.ports[0].nodePort: Invalid value: 30090: provided port is already allocated", taken.Error);
        var patch = await K.RunAsync("-n", ns, "patch", "svc", "web", "--type=merge", "-p", "{\"spec\":{\"clusterIP\":\"10.43.0.61\",\"clusterIPs\":[\"10.43.0.61\"]}}");
        Assert.NotEqual(0, patch.ExitCode);
        Assert.Contains("spec.clusterIP: Invalid value: \"10.43.0.61\": field is immutable", patch.Error);

        // A replace that leaves out clusterIP(s) and nodePort keeps them (upstream's patchAllocatedValues).
        var svc = await GetAsync(ns, "svc", "web");
        var spec = svc["spec"]!.AsObject();
        spec.Remove("clusterIP");
        spec.Remove("clusterIPs");
        spec["ports"]![0]!.AsObject().Remove("nodePort");
        spec["ports"]![0]!["targetPort"] = 9090;
        svc["metadata"]!.AsObject().Remove("resourceVersion");
        using var http = fx.Server.CreateClient();
        var r = await http.PutAsync($"/api/v1/namespaces/{ns}/services/web", Json.Body(svc), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var updated = (await GetAsync(ns, "svc", "web"))["spec"]!;
        Assert.Equal("10.43.0.60", updated["clusterIP"]!.GetValue<string>());
        Assert.Equal(30090, updated["ports"]![0]!["nodePort"]!.GetValue<int>());
        Assert.Equal(9090, updated["ports"]![0]!["targetPort"]!.GetValue<int>());

        // Changing to ClusterIP frees the NodePort; deleting frees the ClusterIP.
        (await K.RunAsync("-n", ns, "patch", "svc", "web", "--type=merge", "-p", "{\"spec\":{\"type\":\"ClusterIP\"}}")).Ok();
        Assert.Null((await GetAsync(ns, "svc", "web"))["spec"]!["ports"]![0]!["nodePort"]);
        (await K.RunAsync("-n", ns, "create", "service", "nodeport", "other", "--tcp=80:8080", "--node-port=30090")).Ok();
        (await K.RunAsync("-n", ns, "delete", "svc", "web")).Ok();
        (await K.RunAsync("-n", ns, "create", "service", "clusterip", "again", "--clusterip=10.43.0.60", "--tcp=80")).Ok();
    }

    [Fact]
    public async Task ManyParallelCreates_NeverShareAnAddressOrPort()
    {
        Support.Kubectl.RequireInstalled();
        const int count = 40;
        using var http = await fx.NamespaceClientAsync("svc-parallel", TestContext.Current.CancellationToken);
        var creates = Enumerable.Range(0, count).Select(async i =>
        {
            var body = new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = $"s{i}" },
                ["spec"] = new JsonObject { ["type"] = "NodePort", ["ports"] = new JsonArray(new JsonObject { ["port"] = 80 }) },
            };
            HttpResponseMessage r;
            while ((r = await http.PostAsync("/api/v1/namespaces/svc-parallel/services", Json.Body(body), TestContext.Current.CancellationToken)).StatusCode == HttpStatusCode.TooManyRequests)
                await Task.Delay(100, TestContext.Current.CancellationToken); // the in-flight limit (32 writes) asks to come back
            var created = await Json.ReadAsync(r);
            Assert.True(r.StatusCode == HttpStatusCode.Created, $"create s{i}: {(int)r.StatusCode} {created.ToJsonString()}");
            return (Ip: created["spec"]!["clusterIP"]!.GetValue<string>(), Port: created["spec"]!["ports"]![0]!["nodePort"]!.GetValue<int>());
        });
        var results = await Task.WhenAll(creates);
        Assert.Equal(count, results.Select(r => r.Ip).Distinct().Count());
        Assert.Equal(count, results.Select(r => r.Port).Distinct().Count());
        var listed = JsonNode.Parse((await K.RunAsync("-n", "svc-parallel", "get", "svc", "-o", "json")).Ok().Out)!["items"]!.AsArray();
        Assert.Equal(count, listed.Select(s => s!["spec"]!["clusterIP"]!.GetValue<string>()).Distinct().Count());
    }

    static string Regex(string s) => System.Text.RegularExpressions.Regex.Escape(s);
}
