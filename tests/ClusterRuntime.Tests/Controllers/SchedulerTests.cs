// The scheduler against a real server process with simulated nodes: placement, spreading, filters, FailedScheduling, binding.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;
using k8s;
using k8s.Models;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "External")]
public sealed class SchedulerTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    static int _nodeIndex;

    Support.Kubectl K => fx.Kubectl;

    Kubernetes Client() => new(KubernetesClientConfiguration.BuildConfigFromConfigFile(fx.Server.KubeconfigPath));


    static V1Pod Pod(string name, string? cpu = null, Dictionary<string, string>? nodeSelector = null)
    {
        var container = new V1Container { Name = "c", Image = "registry.local/app:1" };
        if (cpu is not null) container.Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(cpu) } };
        return new V1Pod { Metadata = new V1ObjectMeta { Name = name }, Spec = new V1PodSpec { Containers = [container], NodeSelector = nodeSelector } };
    }

    async Task<string> NamespaceAsync(IKubernetes client, string name)
    {
        Support.Kubectl.RequireInstalled();
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } }, cancellationToken: Ct);
        return name;
    }

    static async Task<string> Placement(IKubernetes client, string ns) =>
        string.Join(", ", (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items
            .Select(p => $"{p.Metadata.Name}@{p.Spec.NodeName ?? "-"} ({Scheduled(p)?.Message})"));

    static V1PodCondition? Scheduled(V1Pod pod) => pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled");

    static Task WaitBoundAsync(IKubernetes client, string ns, int count, TimeSpan timeout) =>
        Poll.UntilAsync($"{count} pods bound in {ns}", async () =>
        {
            var pods = (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items;
            return pods.Count == count && pods.All(p => !string.IsNullOrEmpty(p.Spec.NodeName));
        }, timeout, () => Placement(client, ns), Ct);

    static Task WaitUnschedulableAsync(IKubernetes client, string ns, string pod, string message) =>
        Poll.UntilAsync($"pod {pod} unschedulable with the expected message", async () =>
        {
            var p = await client.CoreV1.ReadNamespacedPodAsync(pod, ns, cancellationToken: Ct);
            var c = Scheduled(p);
            return string.IsNullOrEmpty(p.Spec.NodeName) && c is { Status: "False", Reason: "Unschedulable" } && c.Message == message;
        }, TimeSpan.FromSeconds(20), async () => $"expected \"{message}\"; pods: {await Placement(client, ns)}", Ct);

    [Fact]
    public async Task Pods_AreBound_ReplicasSpreadAcrossNodes_AndABurstStaysBalanced()
    {
        using var client = Client();
        var ns = await NamespaceAsync(client, "sched-spread");
        await using var nodes = new SimulatedNodes(client, () => Interlocked.Increment(ref _nodeIndex));
        foreach (var name in new[] { "spread-1", "spread-2", "spread-3" }) await nodes.AddAsync(name);

        // Six replicas of one owner (a ConfigMap stands in for the controller: no workload controller acts on it).
        var owner = await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "owner" } }, ns, cancellationToken: Ct);
        for (int i = 0; i < 6; i++)
        {
            var pod = Pod($"replica-{i}");
            pod.Metadata.OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "owner", Uid = owner.Metadata.Uid, Controller = true }];
            await client.CoreV1.CreateNamespacedPodAsync(pod, ns, cancellationToken: Ct);
        }
        await WaitBoundAsync(client, ns, 6, TimeSpan.FromSeconds(20));
        var perNode = (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.GroupBy(p => p.Spec.NodeName).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(perNode.Count == 3 && perNode.Values.All(c => c == 2), "replicas per node: " + string.Join(", ", perNode.Select(p => $"{p.Key}={p.Value}")));

        var replica = await client.CoreV1.ReadNamespacedPodAsync("replica-0", ns, cancellationToken: Ct);
        Assert.Equal("True", Scheduled(replica)?.Status);
        await Poll.UntilAsync("Scheduled event in kubectl get events", async () =>
            (await K.RunAsync("-n", ns, "get", "events")).Out.Contains($"Successfully assigned {ns}/replica-0 to {replica.Spec.NodeName}"),
            TimeSpan.FromSeconds(10), async () => (await K.RunAsync("-n", ns, "get", "events")).Out, Ct);
        Assert.Matches(@"Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned sched-spread/replica-0 to spread-\d",
            (await K.RunAsync("-n", ns, "describe", "pod", "replica-0")).Ok().Out);

        // A burst of bare pods created at once: the assumed-pod cache keeps them from piling onto one node.
        var started = DateTime.UtcNow;
        // (8 at a time, as a ReplicaSet controller's batches, within the server's in-flight limit.)
        await Parallel.ForEachAsync(Enumerable.Range(0, 60), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct },
            async (i, ct) => await client.CoreV1.CreateNamespacedPodAsync(Pod($"burst-{i}"), ns, cancellationToken: ct));
        await WaitBoundAsync(client, ns, 66, TimeSpan.FromSeconds(60));
        var elapsed = DateTime.UtcNow - started;
        var burst = (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.Where(p => p.Metadata.Name.StartsWith("burst-"))
            .GroupBy(p => p.Spec.NodeName).Select(g => g.Count()).ToList();
        Assert.True(burst.Count == 3 && burst.Max() - burst.Min() <= 3, $"burst per node: {string.Join(", ", burst)}");
        TestContext.Current.SendDiagnosticMessage($"60 pods created and bound in {elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task NodeSelector_Affinity_Taints_HostPorts_AndCordon_AreRespected()
    {
        using var client = Client();
        var ns = await NamespaceAsync(client, "sched-filters");
        await using var nodes = new SimulatedNodes(client, () => Interlocked.Increment(ref _nodeIndex));
        await nodes.AddAsync("filter-ssd", labels: new() { ["disk"] = "ssd" });
        await nodes.AddAsync("filter-tainted", taints: [new V1Taint { Key = "dedicated", Value = "x", Effect = "NoSchedule" }]);
        await nodes.AddAsync("filter-plain");

        await client.CoreV1.CreateNamespacedPodAsync(Pod("by-selector", nodeSelector: new() { ["disk"] = "ssd" }), ns, cancellationToken: Ct);
        var byField = Pod("by-field");
        byField.Spec.Affinity = new V1Affinity { NodeAffinity = new V1NodeAffinity { RequiredDuringSchedulingIgnoredDuringExecution = new V1NodeSelector
        {
            NodeSelectorTerms = [new V1NodeSelectorTerm { MatchFields = [new V1NodeSelectorRequirement { Key = "metadata.name", OperatorProperty = "In", Values = ["filter-plain"] }] }],
        } } };
        await client.CoreV1.CreateNamespacedPodAsync(byField, ns, cancellationToken: Ct);
        var byExpression = Pod("by-expression");
        byExpression.Spec.Affinity = new V1Affinity { NodeAffinity = new V1NodeAffinity { RequiredDuringSchedulingIgnoredDuringExecution = new V1NodeSelector
        {
            NodeSelectorTerms = [new V1NodeSelectorTerm { MatchExpressions =
            [
                new V1NodeSelectorRequirement { Key = "disk", OperatorProperty = "DoesNotExist" },
                new V1NodeSelectorRequirement { Key = "kubernetes.io/hostname", OperatorProperty = "In", Values = ["filter-ssd", "filter-tainted"] },
            ] }],
        } } };
        byExpression.Spec.Tolerations = [new V1Toleration { Key = "dedicated", OperatorProperty = "Equal", Value = "x", Effect = "NoSchedule" }];
        await client.CoreV1.CreateNamespacedPodAsync(byExpression, ns, cancellationToken: Ct);
        await WaitBoundAsync(client, ns, 3, TimeSpan.FromSeconds(20));
        async Task<string?> NodeOf(string pod) => (await client.CoreV1.ReadNamespacedPodAsync(pod, ns, cancellationToken: Ct)).Spec.NodeName;
        Assert.Equal("filter-ssd", await NodeOf("by-selector"));
        Assert.Equal("filter-plain", await NodeOf("by-field"));
        Assert.Equal("filter-tainted", await NodeOf("by-expression"));

        await client.CoreV1.CreateNamespacedPodAsync(Pod("untolerated", nodeSelector: new() { ["kubernetes.io/hostname"] = "filter-tainted" }), ns, cancellationToken: Ct);
        await WaitUnschedulableAsync(client, ns, "untolerated",
            "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: x}, 2 node(s) didn't match Pod's node affinity/selector. " +
            "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.");

        V1Pod WithHostPort(string name)
        {
            var pod = Pod(name, nodeSelector: new() { ["kubernetes.io/hostname"] = "filter-plain" });
            pod.Spec.Containers[0].Ports = [new V1ContainerPort { ContainerPort = 80, HostPort = 8080 }];
            return pod;
        }
        await client.CoreV1.CreateNamespacedPodAsync(WithHostPort("port-1"), ns, cancellationToken: Ct);
        await Poll.UntilAsync("port-1 bound", async () => await NodeOf("port-1") == "filter-plain", TimeSpan.FromSeconds(20), () => Placement(client, ns), Ct);
        await client.CoreV1.CreateNamespacedPodAsync(WithHostPort("port-2"), ns, cancellationToken: Ct);
        await WaitUnschedulableAsync(client, ns, "port-2",
            "0/3 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 1 node(s) didn't match Pod's node affinity/selector, " +
            "1 node(s) had untolerated taint {dedicated: x}. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, " +
            "2 Preemption is not helpful for scheduling.");

        // A cordoned node takes no new pods; uncordoning it lets the waiting pod in without anything else changing.
        (await K.RunAsync("cordon", "filter-ssd")).Ok();
        await Poll.UntilAsync("the unschedulable taint on the cordoned node", async () =>
            (await client.CoreV1.ReadNodeAsync("filter-ssd", cancellationToken: Ct)).Spec.Taints?.Any(t => t.Key == "node.kubernetes.io/unschedulable" && t.Effect == "NoSchedule") == true,
            TimeSpan.FromSeconds(10), async () => (await K.RunAsync("get", "node", "filter-ssd", "-o", "jsonpath={.spec.taints}")).Out, Ct);
        await client.CoreV1.CreateNamespacedPodAsync(Pod("cordoned", nodeSelector: new() { ["disk"] = "ssd" }), ns, cancellationToken: Ct);
        await WaitUnschedulableAsync(client, ns, "cordoned",
            "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: x}, 1 node(s) were unschedulable. " +
            "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.");
        (await K.RunAsync("uncordon", "filter-ssd")).Ok();
        await Poll.UntilAsync("the pod bound once the node is uncordoned", async () => await NodeOf("cordoned") == "filter-ssd", TimeSpan.FromSeconds(15), () => Placement(client, ns), Ct);
    }

    [Fact]
    public async Task UnschedulablePod_ShowsFailedSchedulingWithPerNodeReasons_AndIsScheduledOnceANodeFits()
    {
        using var client = Client();
        var ns = await NamespaceAsync(client, "sched-unfit");
        await using var nodes = new SimulatedNodes(client, () => Interlocked.Increment(ref _nodeIndex));
        await nodes.AddAsync("unfit-tainted", taints: [new V1Taint { Key = "key", Value = "value", Effect = "NoSchedule" }]);
        await nodes.AddAsync("unfit-small-1", cpu: "1");
        await nodes.AddAsync("unfit-small-2", cpu: "1");

        await client.CoreV1.CreateNamespacedPodAsync(Pod("big", cpu: "2"), ns, cancellationToken: Ct);
        const string reasons = "0/3 nodes are available: 1 node(s) had untolerated taint {key: value}, 2 Insufficient cpu.";
        const string message = reasons + " preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.";
        await WaitUnschedulableAsync(client, ns, "big", message);

        await Poll.UntilAsync("FailedScheduling in kubectl describe pod", async () =>
            (await K.RunAsync("-n", ns, "describe", "pod", "big")).Out.Contains(reasons),
            TimeSpan.FromSeconds(10), async () => (await K.RunAsync("-n", ns, "describe", "pod", "big")).Out, Ct);
        var describe = (await K.RunAsync("-n", ns, "describe", "pod", "big")).Ok().Out;
        Assert.Matches(@"Warning\s+FailedScheduling\s+\S+\s+default-scheduler\s+0/3 nodes are available: 1 node\(s\) had untolerated taint \{key: value\}, 2 Insufficient cpu\. preemption:", describe);
        Assert.Matches(@"PodScheduled\s+False", describe);
        var events = (await K.RunAsync("-n", ns, "get", "events")).Ok().Out;
        Assert.Matches(@"Warning\s+FailedScheduling\s+pod/big\s+0/3 nodes are available: 1 node\(s\) had untolerated taint \{key: value\}, 2 Insufficient cpu\.", events);
        Assert.Contains("Pending", (await K.RunAsync("-n", ns, "get", "pod", "big")).Ok().Out);

        await nodes.AddAsync("unfit-large", cpu: "4");
        await Poll.UntilAsync("big bound to the new node", async () =>
            (await client.CoreV1.ReadNamespacedPodAsync("big", ns, cancellationToken: Ct)).Spec.NodeName == "unfit-large",
            TimeSpan.FromSeconds(15), () => Placement(client, ns), Ct);
        await Poll.UntilAsync("Scheduled event", async () =>
            (await K.RunAsync("-n", ns, "get", "events")).Out.Contains($"Successfully assigned {ns}/big to unfit-large"),
            TimeSpan.FromSeconds(10), async () => (await K.RunAsync("-n", ns, "get", "events")).Out, Ct);
    }

    [Fact]
    public async Task BindingSubresource_Binds_RefusesARebind_AndAPlainUpdateCannotMoveThePod()
    {
        using var client = Client();
        var ns = await NamespaceAsync(client, "sched-binding");
        var http = fx.Server.CreateClient();
        // Another scheduler's pod: the default scheduler leaves it alone.
        var pod = Pod("manual");
        pod.Spec.SchedulerName = "my-scheduler";
        await client.CoreV1.CreateNamespacedPodAsync(pod, ns, cancellationToken: Ct);
        static JsonObject Binding(string pod, string kind, string node) => new()
        {
            ["apiVersion"] = "v1", ["kind"] = "Binding", ["metadata"] = new JsonObject { ["name"] = pod },
            ["target"] = new JsonObject { ["apiVersion"] = "v1", ["kind"] = kind, ["name"] = node },
        };
        async Task<(HttpStatusCode Code, JsonObject Body)> Bind(string name, string kind, string node)
        {
            var r = await http.PostAsync($"/api/v1/namespaces/{ns}/pods/{name}/binding", Json.Body(Binding(name, kind, node)), Ct);
            return (r.StatusCode, JsonNode.Parse(await r.Content.ReadAsStringAsync(Ct))!.AsObject());
        }

        var (code, body) = await Bind("manual", "Node", "edge-1");
        Assert.True(code == HttpStatusCode.Created && body["kind"]?.ToString() == "Status" && body["status"]?.ToString() == "Success", $"{code} {body.ToJsonString()}");
        var bound = await client.CoreV1.ReadNamespacedPodAsync("manual", ns, cancellationToken: Ct);
        Assert.Equal("edge-1", bound.Spec.NodeName);
        Assert.Equal("True", Scheduled(bound)?.Status);

        (code, body) = await Bind("manual", "Node", "edge-2");
        Assert.Equal(HttpStatusCode.Conflict, code);
        Assert.Equal("Conflict", body["reason"]?.ToString());
        Assert.Equal("Operation cannot be fulfilled on pods/binding \"manual\": pod manual is already assigned to node \"edge-1\"", body["message"]?.ToString());

        (code, body) = await Bind("ghost", "Node", "edge-1");
        Assert.True(code == HttpStatusCode.NotFound && body["message"]?.ToString() == "pods \"ghost\" not found", $"{code} {body.ToJsonString()}");

        var other = Pod("other");
        other.Spec.SchedulerName = "my-scheduler";
        await client.CoreV1.CreateNamespacedPodAsync(other, ns, cancellationToken: Ct);
        (code, body) = await Bind("other", "Pod", "edge-1");
        Assert.True(code == HttpStatusCode.UnprocessableEntity && body["message"]!.ToString().Contains("target.kind"), $"{code} {body.ToJsonString()}");
        var get = await http.GetAsync($"/api/v1/namespaces/{ns}/pods/other/binding", Ct);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);

        // The generated client's binding call works too.
        await client.CoreV1.CreateNamespacedPodBindingAsync(new V1Binding
        {
            Metadata = new V1ObjectMeta { Name = "other" },
            Target = new V1ObjectReference { Kind = "Node", Name = "edge-2" },
        }, "other", ns, cancellationToken: Ct);
        Assert.Equal("edge-2", (await client.CoreV1.ReadNamespacedPodAsync("other", ns, cancellationToken: Ct)).Spec.NodeName);

        var patch = await K.RunAsync("-n", ns, "patch", "pod", "manual", "-p", """{"spec":{"nodeName":"edge-2"}}""");
        Assert.NotEqual(0, patch.ExitCode);
        Assert.Contains("Pod \"manual\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`", patch.Error);
        Assert.Equal("edge-1", (await client.CoreV1.ReadNamespacedPodAsync("manual", ns, cancellationToken: Ct)).Spec.NodeName);
    }
}

/// <summary>The scheduler's pure parts: requests, quantities, filters and the FailedScheduling wording.</summary>
[Trait("Category", "Unit")]
public sealed class SchedulerUnitTests
{
    static JsonObject PodOf(string spec) => JsonNode.Parse($$"""{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"n","uid":"u"},"spec":{{spec}}}""")!.AsObject();

    static JsonObject NodeOf(string name, string cpu, string extra = "") => JsonNode.Parse($$$"""
        {"kind":"Node","apiVersion":"v1","metadata":{"name":"{{{name}}}","labels":{"kubernetes.io/hostname":"{{{name}}}"}},{{{extra}}}
         "status":{"allocatable":{"cpu":"{{{cpu}}}","memory":"1Gi","pods":"2","ephemeral-storage":"1Gi"},"conditions":[{"type":"Ready","status":"True"}]}}
        """)!.AsObject();

    static ClusterRuntime.Controllers.Scheduler.NodeInfo Info(JsonObject node)
    {
        var cache = new ClusterRuntime.Controllers.Scheduler.NodeCache();
        cache.SetNode(node);
        return cache.Nodes.Single();
    }

    [Theory]
    [InlineData("100m", 100)]
    [InlineData("1.5", 1500)]
    [InlineData("2e3", 2_000_000)]
    [InlineData("1Ki", 1_024_000)]
    [InlineData("1M", 1_000_000_000)]
    [InlineData("0.1m", 1)] // rounded up, as MilliValue
    public void Quantity_Milli(string text, long milli) => Assert.Equal(milli, ClusterRuntime.Api.Quantity.Milli(JsonValue.Create(text)));

    [Fact]
    public void Requests_AreContainersSum_OrTheLargestInitContainer_WithSidecarsAndOverhead()
    {
        var pod = ClusterRuntime.Controllers.Scheduler.PodFacts.Of(PodOf("""
            {"containers":[{"name":"a","resources":{"requests":{"cpu":"200m"}}},{"name":"b","resources":{"limits":{"cpu":"300m","memory":"64Mi"}}}],
             "initContainers":[{"name":"big","resources":{"requests":{"cpu":"1"}}},{"name":"side","restartPolicy":"Always","resources":{"requests":{"cpu":"100m"}}}],
             "overhead":{"cpu":"10m"}}
            """));
        // containers 500m + sidecar 100m = 600m < the 1 cpu init container running alone; plus 10m overhead.
        Assert.Equal(1010, pod.Requests["cpu"]);
        Assert.Equal(64L * 1024 * 1024 * 1000, pod.Requests["memory"]); // a limit without a request is the request
        var small = ClusterRuntime.Controllers.Scheduler.PodFacts.Of(PodOf("""{"containers":[{"name":"a"}]}"""));
        Assert.Empty(small.Requests);
        Assert.Equal(100, small.NonZero["cpu"]);
    }

    [Fact]
    public void Filters_ReportUpstreamReasons_InPluginOrder()
    {
        var Check = ClusterRuntime.Controllers.Scheduler.Filters.Check;
        var cpuHungry = ClusterRuntime.Controllers.Scheduler.PodFacts.Of(PodOf("""{"containers":[{"name":"a","resources":{"requests":{"cpu":"2","memory":"2Gi","nvidia.com/gpu":"1"}}}]}"""));
        Assert.Equal(["Insufficient cpu", "Insufficient memory", "Insufficient nvidia.com/gpu"], Check(cpuHungry, Info(NodeOf("a", "1")), null)!.Reasons);
        var tainted = Info(NodeOf("t", "4", """ "spec":{"unschedulable":true,"taints":[{"key":"k","value":"v","effect":"NoExecute"},{"key":"soft","effect":"PreferNoSchedule"}]},"""));
        var plain = ClusterRuntime.Controllers.Scheduler.PodFacts.Of(PodOf("""{"containers":[{"name":"a"}]}"""));
        Assert.Equal(new ClusterRuntime.Controllers.Scheduler.Misfit(["node(s) were unschedulable"], false).Reasons, Check(plain, tainted, null)!.Reasons);
        var tolerant = ClusterRuntime.Controllers.Scheduler.PodFacts.Of(PodOf("""
            {"containers":[{"name":"a"}],"tolerations":[{"key":"node.kubernetes.io/unschedulable","operator":"Exists","effect":"NoSchedule"},{"key":"k","operator":"Equal","value":"v"}]}
            """));
        Assert.Null(Check(tolerant, tainted, null));
        var wrongValue = ClusterRuntime.Controllers.Scheduler.PodFacts.Of(PodOf("""
            {"containers":[{"name":"a"}],"tolerations":[{"key":"node.kubernetes.io/unschedulable","operator":"Exists"},{"key":"k","value":"w"}]}
            """));
        Assert.Equal(["node(s) had untolerated taint {k: v}"], Check(wrongValue, tainted, null)!.Reasons);
        var gt = ClusterRuntime.Controllers.Scheduler.PodFacts.Of(PodOf("""
            {"containers":[{"name":"a"}],"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{},{"matchExpressions":[{"key":"kubernetes.io/hostname","operator":"NotIn","values":["a"]}]}]}}}}
            """));
        Assert.Equal(["node(s) didn't match Pod's node affinity/selector"], Check(gt, Info(NodeOf("a", "4")), null)!.Reasons);
        Assert.Null(Check(gt, Info(NodeOf("b", "4")), null));
    }

    [Fact]
    public void FitError_CountsAndSortsReasons_AndAddsThePreemptionTally()
    {
        var pod = ClusterRuntime.Controllers.Scheduler.PodFacts.Of(PodOf("""{"containers":[{"name":"a","resources":{"requests":{"cpu":"2"}}}]}"""));
        var nodes = new[] { Info(NodeOf("a", "1")), Info(NodeOf("b", "1")), Info(NodeOf("c", "8", """ "spec":{"taints":[{"key":"key","value":"value","effect":"NoSchedule"}]},""")) };
        var misfits = nodes.ToDictionary(n => n.Name, n => ClusterRuntime.Controllers.Scheduler.Filters.Check(pod, n, null)!);
        Assert.Equal("0/3 nodes are available: 1 node(s) had untolerated taint {key: value}, 2 Insufficient cpu. " +
            "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.",
            ClusterRuntime.Controllers.Scheduler.FitError.Message(pod, nodes, misfits));
    }
}
