// kubectl patch --type strategic|merge|json against the results upstream documents: the kubectl patch tutorial
// (kubernetes.io, "Update API Objects in Place Using kubectl patch"), the strategic merge patch design document
// (sig-api-machinery/strategic-merge-patch.md), RFC 7386 and RFC 6902. Each case starts from a fresh object.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Kubectl;

[Trait("Category", "External")]
public sealed class KubectlPatchTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    // The tutorial's Deployment: one container, two tolerations-free replicas, a rolling update strategy.
    const string Deployment = """
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "patch-demo", "finalizers": ["example.com/a", "example.com/b"]},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "nginx"}},
                  "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                  "template": {"metadata": {"labels": {"app": "nginx"}},
                               "spec": {"tolerations": [{"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}],
                                        "volumes": [{"name": "cache", "emptyDir": {}}, {"name": "conf", "configMap": {"name": "c"}}],
                                        "containers": [{"name": "patch-demo-ctr", "image": "nginx",
                                                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                                                        "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 53, "protocol": "UDP"}]},
                                                       {"name": "sidecar", "image": "busybox"}]}}}}
        """;

    const string ConfigMap = """
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "patch-demo", "labels": {"a": "1", "b": "2"}}, "data": {"x": "1", "y": "2"}}
        """;

    const string Service = """
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "patch-demo"},
         "spec": {"selector": {"app": "nginx"}, "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}}
        """;

    static string Containers(JsonNode o) => string.Join(",", Spec(o)["containers"]!.AsArray().Select(c => $"{c!["name"]}={c["image"]}"));

    static JsonNode Spec(JsonNode o) => o["spec"]!["template"]!["spec"]!;

    static string Names(JsonNode? list) => string.Join(",", list!.AsArray().Select(e => e!["name"]!.GetValue<string>()));

    static string Json(JsonNode? n) => n?.ToJsonString() ?? "null";

    /// <summary>One case: the object, the patch type and body, what of the result is compared, and upstream's result.</summary>
    public sealed record Case(string Name, string Object, string Type, string Patch, Func<JsonNode, string> Pick, string Expected)
    {
        /// <inheritdoc />
        public override string ToString() => Name;
    }

    static readonly Case[] All =
    [
        // The tutorial: a strategic patch adds a container to the list merged by name; the new one comes first.
        new("strategic adds a container by name", Deployment, "strategic",
            """{"spec":{"template":{"spec":{"containers":[{"name":"patch-demo-ctr-2","image":"redis"}]}}}}""",
            Containers, "patch-demo-ctr-2=redis,patch-demo-ctr=nginx,sidecar=busybox"),
        // The tutorial: tolerations have no patch strategy, so the patch replaces the list.
        new("strategic replaces a list without a merge key", Deployment, "strategic",
            """{"spec":{"template":{"spec":{"tolerations":[{"effect":"NoSchedule","key":"disktype","value":"ssd"}]}}}}""",
            o => Json(Spec(o)["tolerations"]), """[{"effect":"NoSchedule","key":"disktype","value":"ssd"}]"""),
        // The tutorial: a JSON merge patch replaces a list whole.
        new("merge replaces the containers list", Deployment, "merge",
            """{"spec":{"template":{"spec":{"containers":[{"name":"patch-demo-ctr-3","image":"gcr.io/google-samples/hello-app:2.0"}]}}}}""",
            Containers, "patch-demo-ctr-3=gcr.io/google-samples/hello-app:2.0"),
        // The tutorial: $retainKeys keeps only the listed keys of the strategy.
        new("strategic $retainKeys drops the other keys", Deployment, "strategic",
            """{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}""",
            o => Json(o["spec"]!["strategy"]), """{"type":"Recreate"}"""),
        // Changing one field of a merged element leaves its siblings and the element's other fields.
        new("strategic changes one container's image in place", Deployment, "strategic",
            """{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}""",
            Containers, "patch-demo-ctr=nginx,sidecar=busybox:1.36"),
        // $patch: delete removes the element with that key.
        new("strategic $patch delete removes a container", Deployment, "strategic",
            """{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}""",
            Containers, "patch-demo-ctr=nginx"),
        // $patch: replace on a list: the patch's list is the result.
        new("strategic $patch replace on a list", Deployment, "strategic",
            """{"spec":{"template":{"spec":{"volumes":[{"name":"data","emptyDir":{}},{"$patch":"replace"}]}}}}""",
            o => Names(Spec(o)["volumes"]), "data"),
        // $patch: replace on a map: the map is replaced, not merged.
        new("strategic $patch replace on a map", ConfigMap, "strategic",
            """{"data":{"$patch":"replace","z":"3"}}""",
            o => Json(o["data"]), """{"z":"3"}"""),
        // Env merges by name: a new variable first (not in the live list), the others keep their order; one is deleted.
        new("strategic merges env by name and deletes one", Deployment, "strategic",
            """{"spec":{"template":{"spec":{"containers":[{"name":"patch-demo-ctr","env":[{"name":"C","value":"3"},{"name":"A","$patch":"delete"}]}]}}}}""",
            o => Json(Spec(o)["containers"]![0]!["env"]), """[{"name":"C","value":"3"},{"name":"B","value":"2"}]"""),
        // Container ports merge by containerPort (and protocol): 80/TCP updated in place, 443 added first.
        new("strategic merges ports by containerPort", Deployment, "strategic",
            """{"spec":{"template":{"spec":{"containers":[{"name":"patch-demo-ctr","ports":[{"containerPort":443,"protocol":"TCP"},{"containerPort":80,"protocol":"TCP","name":"http"}]}]}}}}""",
            o => string.Join(",", Spec(o)["containers"]![0]!["ports"]!.AsArray().Select(p => $"{p!["containerPort"]}/{p["protocol"]}{(p["name"] is { } n ? ":" + n : "")}")),
            "443/TCP,80/TCP:http,53/UDP"),
        // $setElementOrder orders the merged list as given.
        new("strategic $setElementOrder reorders containers", Deployment, "strategic",
            """{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"sidecar"},{"name":"patch-demo-ctr"}]}}}}""",
            Containers, "sidecar=busybox,patch-demo-ctr=nginx"),
        // $deleteFromPrimitiveList removes values from a list of scalars merged as a set (finalizers).
        new("strategic $deleteFromPrimitiveList on finalizers", Deployment, "strategic",
            """{"metadata":{"$deleteFromPrimitiveList/finalizers":["example.com/a"]}}""",
            o => Json(o["metadata"]!["finalizers"]), """["example.com/b"]"""),
        // A set of scalars merges: the new value first, the live ones after, no duplicates.
        new("strategic merges finalizers as a set", Deployment, "strategic",
            """{"metadata":{"finalizers":["example.com/c","example.com/a"]}}""",
            o => Json(o["metadata"]!["finalizers"]), """["example.com/c","example.com/a","example.com/b"]"""),
        // Service ports merge by port: a second port added.
        new("strategic adds a Service port", Service, "strategic",
            """{"spec":{"ports":[{"name":"https","port":443,"protocol":"TCP","targetPort":8443}]}}""",
            o => string.Join(",", o["spec"]!["ports"]!.AsArray().Select(p => $"{p!["name"]}:{p["port"]}")), "https:443,http:80"),
        // RFC 7386: null deletes a key, other keys merge.
        new("merge null deletes a label", ConfigMap, "merge",
            """{"metadata":{"labels":{"a":null,"c":"3"}}}""",
            o => Json(o["metadata"]!["labels"]), """{"b":"2","c":"3"}"""),
        // RFC 6902: replace, add at the end of an array (-), remove by index.
        new("json replace replicas", Deployment, "json",
            """[{"op":"replace","path":"/spec/replicas","value":3}]""",
            o => Json(o["spec"]!["replicas"]), "3"),
        new("json adds an env var at the end and removes a volume", Deployment, "json",
            """[{"op":"add","path":"/spec/template/spec/containers/0/env/-","value":{"name":"Z","value":"9"}},{"op":"remove","path":"/spec/template/spec/volumes/0"}]""",
            o => Names(Spec(o)["containers"]![0]!["env"]) + "|" + Names(Spec(o)["volumes"]), "A,B,Z|conf"),
        // RFC 6902: copy and move, with a passing test first.
        new("json test then copy and move", ConfigMap, "json",
            """[{"op":"test","path":"/data/x","value":"1"},{"op":"copy","from":"/data/x","path":"/data/x2"},{"op":"move","from":"/data/y","path":"/data/y2"}]""",
            o => Json(o["data"]), """{"x":"1","x2":"1","y2":"2"}"""),
    ];

    /// <summary>The cases, by name.</summary>
    public static TheoryData<string> CaseNames() => [.. All.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Patch_GivesUpstreamsDocumentedResult(string name)
    {
        Support.Kubectl.RequireInstalled();
        var c = All.Single(x => x.Name == name);
        var ns = "patch-" + Array.IndexOf(All, c);
        (await fx.Kubectl.RunAsync("create", "namespace", ns)).Ok();
        var obj = JsonNode.Parse(c.Object)!;
        (await fx.Kubectl.RunAsync(System.Text.Encoding.UTF8.GetBytes(obj.ToJsonString()), "create", "-n", ns, "-f", "-")).Ok();
        var kind = obj["kind"]!.GetValue<string>().ToLowerInvariant();
        (await fx.Kubectl.RunAsync("patch", "-n", ns, kind, "patch-demo", "--type", c.Type, "-p", c.Patch)).Ok();
        var result = JsonNode.Parse((await fx.Kubectl.RunAsync("get", "-n", ns, kind, "patch-demo", "-o", "json")).Ok().Out)!;
        Assert.Equal(c.Expected, c.Pick(result));
    }

    [Fact]
    public async Task FailingJsonPatchTest_LeavesTheObject_AndKubectlSaysWhy()
    {
        Support.Kubectl.RequireInstalled();
        const string ns = "patch-test-fails";
        (await fx.Kubectl.RunAsync("create", "namespace", ns)).Ok();
        (await fx.Kubectl.RunAsync(System.Text.Encoding.UTF8.GetBytes(ConfigMap), "create", "-n", ns, "-f", "-")).Ok();
        var r = await fx.Kubectl.RunAsync("patch", "-n", ns, "configmap", "patch-demo", "--type", "json", "-p",
            """[{"op":"test","path":"/data/x","value":"2"},{"op":"remove","path":"/data/x"}]""");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("test", r.Error);
        var data = JsonNode.Parse((await fx.Kubectl.RunAsync("get", "-n", ns, "configmap", "patch-demo", "-o", "json")).Ok().Out)!["data"];
        Assert.Equal("""{"x":"1","y":"2"}""", data!.ToJsonString());
    }
}
