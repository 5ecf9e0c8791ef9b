// LimitRange defaults and bounds, ResourceQuota accounting and refusals, through the real server and kubectl 1.32.
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
public sealed class QuotaTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    async Task<string> NamespaceAsync(string prefix)
    {
        var ns = prefix + "-" + Guid.NewGuid().ToString("N")[..6];
        using var http = await fx.NamespaceClientAsync(ns, Ct);
        return ns;
    }

    Task<ProcessResult> ApplyAsync(string ns, string yaml) =>
        fx.Kubectl.RunAsync(Encoding.UTF8.GetBytes(yaml), "apply", "-n", ns, "-f", "-");

    static string Pod(string name, string resources = "") => $"""
        apiVersion: v1
        kind: Pod
        metadata: {"{"}name: {name}{"}"}
        spec:
          containers:
          - name: app
            image: registry.example/app:1
        {resources}
        """;

    async Task<JsonObject> GetAsync(string ns, params string[] what) =>
        JsonNode.Parse((await fx.Kubectl.RunAsync([.. what, "-n", ns, "-o", "json"])).Ok().Out)!.AsObject();

    Task<JsonObject> UsedAsync(string ns, string quota, string resource, string value) =>
        Poll.UntilAsync(() => GetAsync(ns, "get", "resourcequota", quota), q => q["status"]?["used"]?[resource]?.GetValue<string>() == value,
            Wait, $"status.used.{resource} of quota {quota} = {value}");

    [Fact]
    public async Task LimitRange_DefaultsAppearInThePod_AndAPodOverMaxIsRefusedInUpstreamWords()
    {
        Support.Kubectl.RequireInstalled();
        var ns = await NamespaceAsync("limits");
        (await ApplyAsync(ns, """
            apiVersion: v1
            kind: LimitRange
            metadata: {name: lr}
            spec:
              limits:
              - type: Container
                default: {cpu: 200m, memory: 128Mi}
                defaultRequest: {cpu: 100m, memory: 64Mi}
                max: {cpu: 500m}
            """)).Ok();
        (await ApplyAsync(ns, Pod("plain"))).Ok();
        var resources = (await GetAsync(ns, "get", "pod", "plain"))["spec"]!["containers"]![0]!["resources"]!;
        Assert.Equal("200m", resources["limits"]!["cpu"]!.GetValue<string>());
        Assert.Equal("128Mi", resources["limits"]!["memory"]!.GetValue<string>());
        Assert.Equal("100m", resources["requests"]!["cpu"]!.GetValue<string>());
        Assert.Equal("64Mi", resources["requests"]!["memory"]!.GetValue<string>());

        var refused = await ApplyAsync(ns, Pod("big", """
                resources:
                  limits: {cpu: "1"}
            """));
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("Forbidden", refused.Error);
        Assert.Contains("pods \"big\" is forbidden: maximum cpu usage per Container is 500m, but limit is 1", refused.Error);
        Assert.NotEqual(0, (await fx.Kubectl.RunAsync("get", "pod", "big", "-n", ns)).ExitCode);
        var listed = (await fx.Kubectl.RunAsync("get", "limitranges", "-n", ns)).Ok().Out;
        Assert.Contains("lr", listed);
    }

    [Fact]
    public async Task PodQuota_AdmitsTwo_RefusesTheThird_ShowsUse_AndADeletedPodFreesItsUnit()
    {
        Support.Kubectl.RequireInstalled();
        var ns = await NamespaceAsync("quota-pods");
        (await ApplyAsync(ns, """
            apiVersion: v1
            kind: ResourceQuota
            metadata: {name: q}
            spec:
              hard: {pods: "2", configmaps: "5"}
            """)).Ok();
        await UsedAsync(ns, "q", "pods", "0");
        (await ApplyAsync(ns, Pod("p1"))).Ok();
        (await ApplyAsync(ns, Pod("p2"))).Ok();
        var third = await ApplyAsync(ns, Pod("p3"));
        Assert.NotEqual(0, third.ExitCode);
        Assert.Contains("pods \"p3\" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2", third.Error);

        var quota = await UsedAsync(ns, "q", "pods", "2");
        Assert.Equal("2", quota["status"]!["hard"]!["pods"]!.GetValue<string>());
        // kube-root-ca.crt is the namespace's one ConfigMap.
        Assert.Equal("1", quota["status"]!["used"]!["configmaps"]!.GetValue<string>());
        var yaml = (await fx.Kubectl.RunAsync("get", "quota", "q", "-n", ns, "-o", "yaml")).Ok().Out;
        Assert.Contains("used:", yaml);
        var described = (await fx.Kubectl.RunAsync("describe", "quota", "q", "-n", ns)).Ok().Out;
        Assert.Matches(@"pods\s+2\s+2", described);
        var row = (await fx.Kubectl.RunAsync("get", "quota", "q", "-n", ns)).Ok().Out;
        Assert.Contains("configmaps: 1/5, pods: 2/2", row);

        (await fx.Kubectl.RunAsync("delete", "pod", "p1", "-n", ns, "--grace-period=0", "--force")).Ok();
        await UsedAsync(ns, "q", "pods", "1");
        (await ApplyAsync(ns, Pod("p3"))).Ok();
        await UsedAsync(ns, "q", "pods", "2");
    }

    [Fact]
    public async Task RequestsCpuQuota_RefusesAPodWithoutRequests_AndCountsTheRequestsOfOneWithThem()
    {
        Support.Kubectl.RequireInstalled();
        var ns = await NamespaceAsync("quota-cpu");
        (await ApplyAsync(ns, """
            apiVersion: v1
            kind: ResourceQuota
            metadata: {name: compute}
            spec:
              hard: {requests.cpu: "1"}
            """)).Ok();
        await UsedAsync(ns, "compute", "requests.cpu", "0");
        var bare = await ApplyAsync(ns, Pod("bare"));
        Assert.NotEqual(0, bare.ExitCode);
        Assert.Contains("pods \"bare\" is forbidden: failed quota: compute: must specify requests.cpu", bare.Error);
        (await ApplyAsync(ns, Pod("sized", """
                resources:
                  requests: {cpu: 600m}
            """))).Ok();
        await UsedAsync(ns, "compute", "requests.cpu", "600m");
        var over = await ApplyAsync(ns, Pod("more", """
                resources:
                  requests: {cpu: 600m}
            """));
        Assert.Contains("exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1", over.Error);
    }

    [Fact]
    public async Task CreatesRacingForTheLastUnits_OnlyAsManyAsTheQuotaAllowsPass()
    {
        var ns = await NamespaceAsync("quota-race");
        using var http = fx.Server.CreateClient();
        var quota = new JsonObject { ["metadata"] = new JsonObject { ["name"] = "q" }, ["spec"] = new JsonObject { ["hard"] = new JsonObject { ["pods"] = "2" } } };
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync($"/api/v1/namespaces/{ns}/resourcequotas", Json.Body(quota), Ct)).StatusCode);
        await UsedAsync(ns, "q", "pods", "0");
        var codes = await Task.WhenAll(Enumerable.Range(0, 6).Select(async i =>
        {
            var pod = new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = $"r{i}" },
                ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = "registry.example/app:1" }) },
            };
            return (await http.PostAsync($"/api/v1/namespaces/{ns}/pods", Json.Body(pod), Ct)).StatusCode;
        }));
        Assert.Equal(2, codes.Count(c => c == HttpStatusCode.Created));
        Assert.Equal(4, codes.Count(c => c == HttpStatusCode.Forbidden));
        await UsedAsync(ns, "q", "pods", "2");
    }
}
