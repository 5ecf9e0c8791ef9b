// DaemonSet controller: placement by taints, node added, image rollout, status and history through the real kubectl.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.DaemonSet;
using Appliance.ClusterRuntime.Tests.Support;
using k8s;
using k8s.Models;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "External")]
public sealed class DaemonSetTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    const string Ns = "ds-test";
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    IKubernetes Client() => new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(fx.Server.KubeconfigPath));

    async Task<List<V1Pod>> PodsAsync(IKubernetes client) =>
        [.. (await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: "app=agent", cancellationToken: Ct)).Items];

    static string Describe(List<V1Pod> pods) =>
        pods.Count == 0 ? "no pods" : string.Join("; ", pods.Select(p => $"{p.Metadata.Name} node={p.Spec.NodeName} image={p.Spec.Containers[0].Image} phase={p.Status?.Phase}"));

    [Fact]
    public async Task OnePodPerEligibleNode_NewNodeGetsOne_ImageUpdateRollsOut()
    {
        Support.Kubectl.RequireInstalled();
        using var client = (Kubernetes)Client();
        await fx.NamespaceClientAsync(Ns, Ct);
        await using var a = await SimulatedNode.StartAsync(client, "ds-a", 11, labels: Pool("main"), ct: Ct);
        await using var b = await SimulatedNode.StartAsync(client, "ds-b", 12, labels: Pool("main"), ct: Ct);
        await using var tainted = await SimulatedNode.StartAsync(client, "ds-c", 13, labels: Pool("main"),
            taints: [new V1Taint { Key = "dedicated", Value = "db", Effect = "NoSchedule" }], ct: Ct);
        using var dir = new Appliance.TestSupport.TempDir();
        var manifest = dir.Write("ds.yaml", Manifest("registry.local/agent:1.0", Ns, "main"));
        (await fx.Kubectl.RunAsync("apply", "-f", manifest)).Ok();

        var pods = await Poll.UntilAsync(() => PodsAsync(client),
            p => p.Count == 2 && p.All(x => x.Status?.Phase == "Running"), Timeout, "2 running pods (ds-a, ds-b; ds-c is tainted)", Describe);
        Assert.Equal(["ds-a", "ds-b"], pods.Select(p => p.Spec.NodeName).Order());
        var pod = pods[0];
        Assert.Equal("DaemonSet", pod.Metadata.OwnerReferences.Single().Kind);
        var term = pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms.Single();
        Assert.Equal(("metadata.name", "In", pod.Spec.NodeName), (term.MatchFields.Single().Key, term.MatchFields.Single().OperatorProperty, term.MatchFields.Single().Values.Single()));
        foreach (var (key, effect) in new[] { ("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
                     ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/unschedulable", "NoSchedule") })
            Assert.Contains(pod.Spec.Tolerations, t => t.Key == key && t.Effect == effect && t.OperatorProperty == "Exists");
        Assert.NotNull(pod.Metadata.Labels["controller-revision-hash"]);

        var status = (await fx.Kubectl.RunAsync("rollout", "status", "ds/agent", "-n", Ns, "--timeout=30s")).Ok().Out;
        Assert.Contains("daemon set \"agent\" successfully rolled out", status);
        var table = (await fx.Kubectl.RunAsync("get", "ds", "agent", "-n", Ns)).Ok().Out;
        Assert.Matches(@"NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE", table);
        Assert.Matches(@"agent\s+2\s+2\s+2\s+2\s+2\s+pool=main\s+\d+s", table);

        await using var d = await SimulatedNode.StartAsync(client, "ds-d", 14, labels: Pool("main"), ct: Ct);
        pods = await Poll.UntilAsync(() => PodsAsync(client),
            p => p.Count(x => x.Spec.NodeName == "ds-d" && x.Status?.Phase == "Running") == 1 && p.Count == 3, Timeout, "a pod on the added node ds-d", Describe);

        (await fx.Kubectl.RunAsync("set", "image", "ds/agent", "-n", Ns, "agent=registry.local/agent:2.0")).Ok();
        status = (await fx.Kubectl.RunAsync("rollout", "status", "ds/agent", "-n", Ns, "--timeout=30s")).Ok().Out;
        Assert.Contains("daemon set \"agent\" successfully rolled out", status);
        pods = await PodsAsync(client);
        Assert.True(pods.Count == 3 && pods.All(p => p.Spec.Containers[0].Image == "registry.local/agent:2.0"), Describe(pods));
        Assert.Equal(["ds-a", "ds-b", "ds-d"], pods.Select(p => p.Spec.NodeName).Order());

        var ds = await client.AppsV1.ReadNamespacedDaemonSetAsync("agent", Ns, cancellationToken: Ct);
        Assert.Equal((3, 3, 3, 3, 3, 0), (ds.Status.DesiredNumberScheduled, ds.Status.CurrentNumberScheduled, ds.Status.NumberReady,
            ds.Status.UpdatedNumberScheduled, ds.Status.NumberAvailable ?? 0, ds.Status.NumberMisscheduled));
        Assert.Equal(ds.Metadata.Generation, ds.Status.ObservedGeneration);

        var history = (await fx.Kubectl.RunAsync("rollout", "history", "ds/agent", "-n", Ns)).Ok().Out;
        Assert.Matches(@"REVISION\s+CHANGE-CAUSE\s+1\s+<none>\s+2\s+<none>", history);
        var revisions = (await fx.Kubectl.RunAsync("get", "controllerrevisions", "-n", Ns)).Ok().Out;
        Assert.Matches(@"NAME\s+CONTROLLER\s+REVISION\s+AGE", revisions);
        Assert.Matches(@"agent-[a-z0-9]+\s+daemonset\.apps/agent\s+2\s+", revisions);

        // A node relabelled out of the selector loses its pod; a deleted node's pod goes too.
        (await fx.Kubectl.RunAsync("label", "node", "ds-d", "pool=other", "--overwrite")).Ok();
        (await fx.Kubectl.RunAsync("delete", "node", "ds-b")).Ok();
        pods = await Poll.UntilAsync(() => PodsAsync(client), p => p.Count == 1, Timeout, "only the pod on ds-a left", Describe);
        Assert.Equal("ds-a", pods.Single().Spec.NodeName);
        ds = await Poll.UntilAsync(() => client.AppsV1.ReadNamespacedDaemonSetAsync("agent", Ns, cancellationToken: Ct),
            x => x.Status.DesiredNumberScheduled == 1 && x.Status.CurrentNumberScheduled == 1, Timeout, "status for one node",
            x => $"desired={x.Status.DesiredNumberScheduled} current={x.Status.CurrentNumberScheduled} misscheduled={x.Status.NumberMisscheduled}");
        Assert.Equal(0, ds.Status.NumberMisscheduled);
    }

    [Fact]
    public async Task RollingUpdate_NeverHasMoreThanMaxUnavailableDown_FailedPodReplaced()
    {
        Support.Kubectl.RequireInstalled();
        using var client = (Kubernetes)Client();
        const string ns = "ds-rolling";
        await fx.NamespaceClientAsync(ns, Ct);
        var nodes = new List<SimulatedNode>();
        for (var i = 0; i < 3; i++) nodes.Add(await SimulatedNode.StartAsync(client, $"ds-r{i}", 21 + i, labels: Pool("rolling"), ct: Ct));
        try
        {
            using var dir = new Appliance.TestSupport.TempDir();
            (await fx.Kubectl.RunAsync("apply", "-f", dir.Write("ds.yaml", Manifest("registry.local/agent:1.0", ns, "rolling")))).Ok();
            (await fx.Kubectl.RunAsync("rollout", "status", "ds/agent", "-n", ns, "--timeout=30s")).Ok();
            var nodeNames = nodes.Select(n => n.Name).ToHashSet();
            var worst = 0;
            using var watchStop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            var watcher = Task.Run(async () =>
            {
                while (!watchStop.IsCancellationRequested)
                {
                    var pods = (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: watchStop.Token)).Items;
                    var availableOn = pods.Where(p => p.Metadata.DeletionTimestamp is null && p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true)
                        .Select(p => p.Spec.NodeName).ToHashSet();
                    worst = Math.Max(worst, nodeNames.Count(n => !availableOn.Contains(n)));
                    await Task.Delay(20, watchStop.Token);
                }
            }, Ct);
            (await fx.Kubectl.RunAsync("set", "image", "ds/agent", "-n", ns, "agent=registry.local/agent:2.0")).Ok();
            (await fx.Kubectl.RunAsync("rollout", "status", "ds/agent", "-n", ns, "--timeout=30s")).Ok();
            await watchStop.CancelAsync();
            try { await watcher; } catch (OperationCanceledException) { }
            Assert.InRange(worst, 1, 1); // maxUnavailable 1 (the default); 0 would mean the watch saw nothing happen

            // A daemon pod that fails is replaced on its node, with a FailedDaemonPod event.
            var victim = (await client.CoreV1.ListNamespacedPodAsync(ns, fieldSelector: "spec.nodeName=ds-r0", cancellationToken: Ct)).Items.Single();
            nodes[0].Outcome = p => p.Metadata.Name == victim.Metadata.Name ? 1 : null;
            var poke = new V1Patch(new { metadata = new { labels = new Dictionary<string, string> { ["poke"] = "1" } } }, V1Patch.PatchType.MergePatch);
            await client.CoreV1.PatchNamespacedPodAsync(poke, victim.Metadata.Name, ns, cancellationToken: Ct);
            await Poll.UntilAsync(async () => (await client.CoreV1.ListNamespacedPodAsync(ns, fieldSelector: "spec.nodeName=ds-r0", cancellationToken: Ct)).Items.ToList(),
                p => p.Count == 1 && p[0].Metadata.Name != victim.Metadata.Name && p[0].Status?.Phase == "Running", Timeout, "a new pod on ds-r0 replacing the failed one", Describe);
            var events = (await fx.Kubectl.RunAsync("get", "events", "-n", ns, "--field-selector", "reason=FailedDaemonPod")).Ok().Out;
            Assert.Contains($"Found failed daemon pod {ns}/{victim.Metadata.Name} on node ds-r0, will try to kill it", events);
        }
        finally
        {
            foreach (var n in nodes) await n.DisposeAsync();
        }
    }

    // Each test's nodes carry their own pool label (nodes outlive a test in the class's server).
    static Dictionary<string, string> Pool(string pool) => new() { ["pool"] = pool };

    static string Manifest(string image, string ns, string pool) => $"""
        apiVersion: apps/v1
        kind: DaemonSet
        metadata:
          name: agent
          namespace: {ns}
        spec:
          selector:
            matchLabels:
              app: agent
          template:
            metadata:
              labels:
                app: agent
            spec:
              nodeSelector:
                pool: {pool}
              containers:
              - name: agent
                image: "{image}"
        """;
}

/// <summary>Placement rules of the DaemonSet controller without a server.</summary>
[Trait("Category", "Unit")]
public sealed class DaemonPodsUnitTests
{
    static JsonObject Node(string name, string labels = "{}", string taints = "[]") =>
        JsonNode.Parse("{\"metadata\":{\"name\":\"" + name + "\",\"labels\":" + labels + "},\"spec\":{\"taints\":" + taints + "}}")!.AsObject();

    static JsonObject Ds(string podSpec) =>
        JsonNode.Parse("""{"metadata":{"name":"d","namespace":"n","uid":"u"},"spec":{"template":{"metadata":{"labels":{"a":"b"}},"spec":""" + podSpec + "}}}")!.AsObject();

    [Fact]
    public void Fit_FollowsSelectorAffinityAndTaints()
    {
        var plain = Ds("""{"containers":[]}""");
        Assert.Equal((true, true), DaemonPods.Fit(Node("n1"), plain));
        Assert.Equal((false, true), DaemonPods.Fit(Node("n1", taints: """[{"key":"k","effect":"NoSchedule"}]"""), plain));
        Assert.Equal((false, false), DaemonPods.Fit(Node("n1", taints: """[{"key":"k","effect":"NoExecute"}]"""), plain));
        // Automatic tolerations: not-ready NoExecute and unschedulable NoSchedule do not keep daemon pods off.
        Assert.Equal((true, true), DaemonPods.Fit(Node("n1", taints: """[{"key":"node.kubernetes.io/not-ready","effect":"NoExecute"},{"key":"node.kubernetes.io/unschedulable","effect":"NoSchedule"}]"""), plain));
        Assert.Equal((false, true), DaemonPods.Fit(Node("n1", taints: """[{"key":"node.kubernetes.io/network-unavailable","effect":"NoSchedule"}]"""), plain));
        Assert.Equal((true, true), DaemonPods.Fit(Node("n1", taints: """[{"key":"node.kubernetes.io/network-unavailable","effect":"NoSchedule"}]"""), Ds("""{"hostNetwork":true}""")));
        var tolerating = Ds("""{"tolerations":[{"key":"k","operator":"Equal","value":"v","effect":"NoSchedule"}]}""");
        Assert.Equal((true, true), DaemonPods.Fit(Node("n1", taints: """[{"key":"k","value":"v","effect":"NoSchedule"}]"""), tolerating));
        Assert.Equal((false, true), DaemonPods.Fit(Node("n1", taints: """[{"key":"k","value":"w","effect":"NoSchedule"}]"""), tolerating));

        var selecting = Ds("""{"nodeSelector":{"role":"edge"}}""");
        Assert.Equal((false, false), DaemonPods.Fit(Node("n1"), selecting));
        Assert.Equal((true, true), DaemonPods.Fit(Node("n1", labels: """{"role":"edge"}"""), selecting));
        var affinity = Ds("""{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"zone","operator":"In","values":["a","b"]}]},{"matchExpressions":[{"key":"gpu","operator":"Exists"}]}]}}}}""");
        Assert.Equal((true, true), DaemonPods.Fit(Node("n1", labels: """{"zone":"b"}"""), affinity));
        Assert.Equal((true, true), DaemonPods.Fit(Node("n1", labels: """{"gpu":"1"}"""), affinity));
        Assert.Equal((false, false), DaemonPods.Fit(Node("n1", labels: """{"zone":"c"}"""), affinity));
    }

    [Fact]
    public void NewPod_TargetsItsNodeByAffinityAndCarriesTheRevision()
    {
        var ds = Ds("""{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"zone","operator":"Exists"}]}]}}},"tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":30}]}""");
        var pod = DaemonPods.NewPod(ds, Appliance.ClusterRuntime.Controllers.Machinery.Obj.Resource("apps", "daemonsets"), "n7", "abc");
        Assert.Equal("n7", DaemonPods.TargetNode(pod));
        Assert.Equal("d-", pod["metadata"]!["generateName"]!.GetValue<string>());
        Assert.Equal("abc", pod["metadata"]!["labels"]!["controller-revision-hash"]!.GetValue<string>());
        Assert.Equal("b", pod["metadata"]!["labels"]!["a"]!.GetValue<string>());
        var tolerations = pod["spec"]!["tolerations"]!.AsArray();
        Assert.Equal(6, tolerations.Count); // the template's not-ready toleration is replaced by the automatic one (no time limit)
        Assert.Null(tolerations.First(t => t!["key"]!.GetValue<string>() == "node.kubernetes.io/not-ready")!["tolerationSeconds"]);
    }
}
