// The issue's kubectl scenarios, run with the real kubectl 1.32 against a real server process.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Kubectl;

[Trait("Category", "External")]
public sealed class KubectlScenarioTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    Support.Kubectl K => fx.Kubectl;

    async Task<string> NamespaceAsync(string name)
    {
        Support.Kubectl.RequireInstalled();
        await K.RunAsync("create", "namespace", name);
        // Every namespace gets kube-root-ca.crt and the default ServiceAccount from the controllers; lists below count them.
        await Poll.UntilAsync(async () => (await K.RunAsync("-n", name, "get", "configmap/kube-root-ca.crt", "serviceaccount/default")).ExitCode,
            code => code == 0, TimeSpan.FromSeconds(30), $"kube-root-ca.crt and the default ServiceAccount in {name}");
        return name;
    }

    [Fact]
    public async Task Version_ApiResources_ApiVersions()
    {
        Support.Kubectl.RequireInstalled();
        var version = JsonNode.Parse((await K.RunAsync("get", "--raw", "/version")).Ok().Out)!;
        Assert.Equal("1", version["major"]!.GetValue<string>());
        Assert.StartsWith("v1.32.", version["gitVersion"]!.GetValue<string>());

        var resources = (await K.RunAsync("api-resources")).Ok().Out;
        foreach (var expected in new[] { "configmaps", "namespaces", "nodes", "pods", "services", "endpoints", "secrets", "serviceaccounts", "events",
                     "deployments", "replicasets", "daemonsets", "statefulsets", "jobs", "leases", "endpointslices", "networkpolicies" })
            Assert.Matches($@"(?m)^{expected}\s", resources);
        Assert.Matches(@"(?m)^deployments\s+deploy\s+apps/v1\s+true\s+Deployment", resources);
        Assert.Matches(@"(?m)^nodes\s+no\s+v1\s+false\s+Node", resources);

        var versions = (await K.RunAsync("api-versions")).Ok().Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["apiextensions.k8s.io/v1", "apps/v1", "autoscaling/v2", "batch/v1", "coordination.k8s.io/v1", "discovery.k8s.io/v1", "events.k8s.io/v1", "networking.k8s.io/v1", "policy/v1", "rbac.authorization.k8s.io/v1", "scheduling.k8s.io/v1", "v1"], versions);
    }

    [Fact]
    public async Task GetNamespaces_ListsSystemNamespaces_AndCreateNamespaceAddsOne()
    {
        var ns = await NamespaceAsync("scenario-ns");
        var table = (await K.RunAsync("get", "ns")).Ok().Out;
        Assert.Matches(@"^NAME\s+STATUS\s+AGE", table);
        foreach (var name in new[] { "default", "kube-system", "kube-public", "kube-node-lease", ns })
            Assert.Matches($@"(?m)^{name}\s+Active\s+\d+[smhd]", table);
    }

    [Fact]
    public async Task CreateConfigMapAndSecret_GetAsYamlJsonWide()
    {
        var ns = await NamespaceAsync("scenario-create");
        (await K.RunAsync("-n", ns, "create", "configmap", "app", "--from-literal=color=blue", "--from-literal=size=L")).Ok();
        (await K.RunAsync("-n", ns, "create", "secret", "generic", "creds", "--from-literal=password=s3cret")).Ok();

        var yaml = (await K.RunAsync("-n", ns, "get", "cm", "app", "-o", "yaml")).Ok().Out;
        Assert.Contains("color: blue", yaml);
        Assert.Contains("kind: ConfigMap", yaml);
        Assert.Matches(@"resourceVersion: ""\d+""", yaml);
        Assert.Matches(@"uid: [0-9a-f-]{36}", yaml);

        var json = JsonNode.Parse((await K.RunAsync("-n", ns, "get", "cm", "app", "-o", "json")).Ok().Out)!;
        Assert.Equal("L", json["data"]!["size"]!.GetValue<string>());
        Assert.Equal(ns, json["metadata"]!["namespace"]!.GetValue<string>());
        Assert.NotNull(json["metadata"]!["creationTimestamp"]);

        var secret = JsonNode.Parse((await K.RunAsync("-n", ns, "get", "secret", "creds", "-o", "json")).Ok().Out)!;
        Assert.Equal("Opaque", secret["type"]!.GetValue<string>());
        Assert.Equal(Convert.ToBase64String("s3cret"u8), secret["data"]!["password"]!.GetValue<string>());

        var wide = (await K.RunAsync("-n", ns, "get", "cm", "-o", "wide")).Ok().Out;
        Assert.Matches(@"^NAME\s+DATA\s+AGE", wide);
        Assert.Matches(@"(?m)^app\s+2\s+\d+s", wide);
        var secrets = (await K.RunAsync("-n", ns, "get", "secrets")).Ok().Out;
        Assert.Matches(@"(?m)^creds\s+Opaque\s+1\s+", secrets);
    }

    [Fact]
    public async Task LabelAnnotate_AndSelectors()
    {
        var ns = await NamespaceAsync("scenario-select");
        foreach (var n in new[] { "a", "b", "c" })
            (await K.RunAsync("-n", ns, "create", "configmap", n, "--from-literal=k=v")).Ok();
        (await K.RunAsync("-n", ns, "label", "cm", "a", "tier=web")).Ok();
        (await K.RunAsync("-n", ns, "label", "cm", "b", "tier=db")).Ok();
        (await K.RunAsync("-n", ns, "annotate", "cm", "a", "owner=team-x")).Ok();

        var a = JsonNode.Parse((await K.RunAsync("-n", ns, "get", "cm", "a", "-o", "json")).Ok().Out)!;
        Assert.Equal("web", a["metadata"]!["labels"]!["tier"]!.GetValue<string>());
        Assert.Equal("team-x", a["metadata"]!["annotations"]!["owner"]!.GetValue<string>());

        async Task<string[]> Names(params string[] selector)
        {
            var output = (await K.RunAsync(["-n", ns, "get", "cm", "-o", "name", .. selector])).Ok().Out;
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
        Assert.Equal(["configmap/a"], await Names("-l", "tier=web"));
        Assert.Equal(["configmap/b"], await Names("-l", "tier!=web,tier"));
        Assert.Equal(["configmap/a", "configmap/b"], await Names("-l", "tier in (web,db)"));
        Assert.Equal(["configmap/c", "configmap/kube-root-ca.crt"], await Names("-l", "!tier"));
        Assert.Equal(["configmap/b"], await Names("--field-selector", "metadata.name=b"));
        Assert.Equal(["configmap/a", "configmap/c", "configmap/kube-root-ca.crt"], await Names("--field-selector", "metadata.name!=b"));
        Assert.Equal(["configmap/a", "configmap/b", "configmap/c", "configmap/kube-root-ca.crt"], await Names("--field-selector", $"metadata.namespace={ns}"));
        var bad = await K.RunAsync("-n", ns, "get", "cm", "--field-selector", "data.k=v");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("field label not supported", bad.Error);

        (await K.RunAsync("-n", ns, "label", "cm", "a", "tier-")).Ok();
        Assert.Empty(await Names("-l", "tier=web"));
    }

    [Fact]
    public async Task Delete_WithAndWithoutWait()
    {
        var ns = await NamespaceAsync("scenario-delete");
        (await K.RunAsync("-n", ns, "create", "configmap", "one")).Ok();
        (await K.RunAsync("-n", ns, "create", "configmap", "two")).Ok();
        Assert.Contains("configmap \"one\" deleted", (await K.RunAsync("-n", ns, "delete", "cm", "one", "--wait=true")).Ok().Out);
        Assert.Contains("configmap \"two\" deleted", (await K.RunAsync("-n", ns, "delete", "cm", "two", "--wait=false")).Ok().Out);
        var gone = await K.RunAsync("-n", ns, "get", "cm", "one");
        Assert.NotEqual(0, gone.ExitCode);
        Assert.Contains("configmaps \"one\" not found", gone.Error);
        Assert.Equal("configmap/kube-root-ca.crt", (await K.RunAsync("-n", ns, "get", "cm", "-o", "name")).Ok().Out.Trim());

        // A finalizer holds the object: delete without --wait returns, the object stays Terminating until the finalizer goes.
        (await K.RunAsync("-n", ns, "create", "configmap", "held")).Ok();
        (await K.RunAsync("-n", ns, "patch", "cm", "held", "--type=merge", "-p", "{\"metadata\":{\"finalizers\":[\"example.com/hold\"]}}")).Ok();
        (await K.RunAsync("-n", ns, "delete", "cm", "held", "--wait=false")).Ok();
        var held = JsonNode.Parse((await K.RunAsync("-n", ns, "get", "cm", "held", "-o", "json")).Ok().Out)!;
        Assert.NotNull(held["metadata"]!["deletionTimestamp"]);
        (await K.RunAsync("-n", ns, "patch", "cm", "held", "--type=json", "-p", "[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]")).Ok();
        Assert.NotEqual(0, (await K.RunAsync("-n", ns, "get", "cm", "held")).ExitCode);

        // Deleting the namespace with --wait empties it and removes it.
        (await K.RunAsync("-n", ns, "create", "configmap", "left")).Ok();
        (await K.RunAsync("delete", "namespace", ns, "--wait=true", "--timeout=30s")).Ok();
        Assert.NotEqual(0, (await K.RunAsync("get", "namespace", ns)).ExitCode);
    }

    [Fact]
    public async Task WatchConfigMaps_SeesCreateUpdateDeleteFromASecondKubectl_InOrder()
    {
        var ns = await NamespaceAsync("scenario-watch");
        using var watch = K.Start("-n", ns, "get", "cm", "-w", "--output-watch-events");
        using var plain = K.Start("-n", ns, "get", "cm", "-w");
        // The watch is established once kubectl printed the (empty) list; give it a moment to connect.
        await Task.Delay(1500, TestContext.Current.CancellationToken);
        (await K.RunAsync("-n", ns, "create", "configmap", "watched", "--from-literal=v=1")).Ok();
        (await K.RunAsync("-n", ns, "label", "cm", "watched", "step=two")).Ok();
        (await K.RunAsync("-n", ns, "delete", "cm", "watched")).Ok();
        static string[] Lines(ChildProcess p) => p.Out.Split('\n');
        var ct = TestContext.Current.CancellationToken;
        var deadline = TimeSpan.FromSeconds(15);
        await watch.WaitUntilAsync(p => Lines(p).Count(l => l.Contains("watched")) >= 3, deadline, ct);
        await plain.WaitUntilAsync(p => Lines(p).Count(l => l.StartsWith("watched", StringComparison.Ordinal)) >= 3, deadline, ct);
        watch.Kill();
        plain.Kill();
        var lines = (await watch.WaitAsync(ct: ct)).Out.Split('\n');
        var plainLines = (await plain.WaitAsync(ct: ct)).Out.Split('\n');
        // Plain `get cm -w` prints one table row per event: created with 1 key, labelled, deleted.
        Assert.Equal(3, plainLines.Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^watched\s+1\s+\d+s")));
        var events = lines.Where(l => l.Contains("watched")).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]).ToArray();
        Assert.Equal(["ADDED", "MODIFIED", "DELETED"], events);
    }

    [Fact]
    public async Task GetNodes_ListsANodeCreatedThroughTheApi()
    {
        Support.Kubectl.RequireInstalled();
        using var http = fx.Server.CreateClient();
        var node = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Node",
            ["metadata"] = new JsonObject { ["name"] = "edge-node-1", ["labels"] = new JsonObject { ["node-role.kubernetes.io/control-plane"] = "true" } },
            ["status"] = new JsonObject
            {
                ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
                ["nodeInfo"] = new JsonObject { ["kubeletVersion"] = "v1.32.0-appliance" },
                ["addresses"] = new JsonArray(new JsonObject { ["type"] = "InternalIP", ["address"] = "10.1.2.3" }),
            },
        };
        var response = await http.PostAsync("/api/v1/nodes", new StringContent(node.ToJsonString(), System.Text.Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);

        var nodes = (await K.RunAsync("get", "nodes")).Ok().Out;
        Assert.Matches(@"^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION", nodes);
        Assert.Matches(@"(?m)^edge-node-1\s+Ready\s+control-plane\s+\d+s\s+v1\.32\.0-appliance", nodes);
        var wide = (await K.RunAsync("get", "nodes", "-o", "wide")).Ok().Out;
        Assert.Matches(@"(?m)^edge-node-1\s+Ready\s+control-plane\s+\d+s\s+v1\.32\.0-appliance\s+10\.1\.2\.3", wide);
    }

    [Fact]
    public async Task CreateGenerators_SendProtobuf_DeploymentJobServiceServiceAccount_AndScale()
    {
        var ns = await NamespaceAsync("scenario-workloads");
        (await K.RunAsync("-n", ns, "create", "deployment", "web", "--image=nginx:1.27", "--replicas=0", "--port=80")).Ok();
        var deploy = JsonNode.Parse((await K.RunAsync("-n", ns, "get", "deploy", "web", "-o", "json")).Ok().Out)!;
        Assert.Equal(0, deploy["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal("web", deploy["spec"]!["selector"]!["matchLabels"]!["app"]!.GetValue<string>());
        Assert.Equal("nginx:1.27", deploy["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal(80, deploy["spec"]!["template"]!["spec"]!["containers"]![0]!["ports"]![0]!["containerPort"]!.GetValue<int>());
        Assert.Null(deploy["spec"]!["template"]!["metadata"]!["creationTimestamp"]);

        (await K.RunAsync("-n", ns, "scale", "deployment", "web", "--replicas=3")).Ok();
        Assert.Equal("3", (await K.RunAsync("-n", ns, "get", "deploy", "web", "-o", "jsonpath={.spec.replicas}")).Ok().Out);
        // UP-TO-DATE follows the Deployment controller (0 to 3 as it creates the ReplicaSet); no node makes pods ready.
        Assert.Matches(@"(?m)^web\s+0/3\s+[0-3]\s+0\s+\d+s\s+nginx\s+nginx:1\.27\s+app=web", (await K.RunAsync("-n", ns, "get", "deploy", "-o", "wide")).Ok().Out);

        (await K.RunAsync("-n", ns, "create", "job", "once", "--image=busybox", "--", "echo", "hi")).Ok();
        Assert.Equal("[\"echo\",\"hi\"]", (await K.RunAsync("-n", ns, "get", "job", "once", "-o", "jsonpath={.spec.template.spec.containers[0].command}")).Ok().Out);
        (await K.RunAsync("-n", ns, "create", "service", "clusterip", "api", "--tcp=80:8080")).Ok();
        Assert.Matches(@"(?m)^api\s+ClusterIP\s+.*80/TCP", (await K.RunAsync("-n", ns, "get", "svc")).Ok().Out);
        (await K.RunAsync("-n", ns, "create", "serviceaccount", "robot")).Ok();
        Assert.Matches(@"(?m)^robot\s+\d+s", (await K.RunAsync("-n", ns, "get", "sa")).Ok().Out);
    }

    [Fact]
    public async Task Apply_TwiceIsAStrategicMergePatch_AndChunkedGetPages()
    {
        var ns = await NamespaceAsync("scenario-apply");
        using (var dir = new TempDir("apply-"))
        {
            var file = dir["cm.yaml"];
            File.WriteAllText(file, $"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  namespace: {ns}\n  labels:\n    a: one\ndata:\n  x: \"1\"\n  y: \"2\"\n");
            Assert.Contains("configmap/applied created", (await K.RunAsync("apply", "-f", file)).Ok().Out);
            File.WriteAllText(file, $"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  namespace: {ns}\n  labels:\n    b: two\ndata:\n  x: \"10\"\n");
            Assert.Contains("configmap/applied configured", (await K.RunAsync("apply", "-f", file)).Ok().Out);
            var cm = JsonNode.Parse((await K.RunAsync("-n", ns, "get", "cm", "applied", "-o", "json")).Ok().Out)!;
            // The three-way merge removed what the first file had and the second has not.
            Assert.Equal("""{"x":"10"}""", cm["data"]!.ToJsonString());
            Assert.Equal("""{"b":"two"}""", cm["metadata"]!["labels"]!.ToJsonString());
            Assert.Contains("configmap/applied unchanged", (await K.RunAsync("apply", "-f", file)).Ok().Out);
        }

        for (int i = 0; i < 5; i++) (await K.RunAsync("-n", ns, "create", "configmap", $"page-{i}")).Ok();
        var paged = (await K.RunAsync("-n", ns, "get", "cm", "--chunk-size=2", "-o", "name", "-v=6")).Ok();
        // Six and kube-root-ca.crt: four pages of two.
        Assert.Equal(7, paged.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(4, System.Text.RegularExpressions.Regex.Matches(paged.Error, @"configmaps\?(continue=[^ ]+&)?limit=2 200").Count);
    }
}
