// Node lifecycle against a real server process: a silent node turns NotReady, is tainted, loses its pods, and recovers.
using Appliance.ClusterRuntime.Tests.Support;
using k8s;
using k8s.Models;

namespace Appliance.ClusterRuntime.Tests.Controllers;

/// <summary>A server with a given grace period and default toleration, and helpers shared by the node lifecycle tests.</summary>
public abstract class NodeLifecycleFixture(string grace, int tolerationSeconds) : IAsyncLifetime
{
    readonly TempDir _dir = new();
    static int _nodeIndex = 100;

    /// <summary>The server.</summary>
    public RuntimeProcess Server { get; private set; } = null!;
    /// <summary>kubectl bound to it.</summary>
    public Support.Kubectl Kubectl { get; private set; } = null!;
    /// <summary>A client bound to it.</summary>
    public Kubernetes Client { get; private set; } = null!;

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        Server = await RuntimeProcess.StartAsync(Path.Combine(_dir.Path, "data"), RuntimeProcess.FreePort(),
            "--node-monitor-grace-period", grace, "--default-toleration-seconds", tolerationSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var cache = Path.Combine(_dir.Path, "kube-cache");
        Directory.CreateDirectory(cache);
        Kubectl = new Support.Kubectl(Server.KubeconfigPath, cache);
        Client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(Server.KubeconfigPath));
    }

    /// <summary>Starts a simulated node.</summary>
    public Task<SimulatedNode> NodeAsync(string name, TimeSpan? leaseInterval = null, Dictionary<string, string>? labels = null) =>
        SimulatedNode.StartAsync(Client, name, Interlocked.Increment(ref _nodeIndex), labels: labels, ct: TestContext.Current.CancellationToken, leaseInterval: leaseInterval);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        if (Server is not null) await Server.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>Upstream's default 40 s grace period; pods tolerate a lost node for 3 s.</summary>
public sealed class DefaultGraceFixture() : NodeLifecycleFixture("40s", 3);

/// <summary>
/// A 10 s grace period (nodes renew every second, so a busy machine's stalls do not make live nodes look lost); pods
/// tolerate a lost node for 60 s unless they say otherwise.
/// </summary>
public sealed class ShortGraceFixture() : NodeLifecycleFixture("10s", 60);

static class Pods
{
    public static V1Pod Bare(string name, string node, IList<V1Toleration>? tolerations = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1PodSpec
        {
            Containers = [new V1Container { Name = "c", Image = "registry.local/app:1" }],
            NodeSelector = new Dictionary<string, string> { ["kubernetes.io/hostname"] = node },
            Tolerations = tolerations,
        },
    };

    public static async Task<string> Describe(IKubernetes client, string ns) =>
        string.Join(", ", (await client.CoreV1.ListNamespacedPodAsync(ns)).Items.Select(p =>
            $"{p.Metadata.Name}@{p.Spec.NodeName ?? "-"} {p.Status?.Phase} ready={p.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Status}"
            + $" scheduled={(p.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled") is { } s ? s.Status + " " + s.Message : "-")}"));

    public static async Task<string> Taints(IKubernetes client, string node) =>
        string.Join(", ", (await client.CoreV1.ReadNodeAsync(node)).Spec.Taints?.Select(t => $"{t.Key}={t.Value}:{t.Effect}@{t.TimeAdded:O}") ?? []);

    public static async Task<bool> HasTaint(IKubernetes client, string node, string key, string effect) =>
        (await client.CoreV1.ReadNodeAsync(node)).Spec.Taints?.Any(t => t.Key == key && t.Effect == effect) == true;
}

[Trait("Category", "External")]
public sealed class NodeLifecycleTests(DefaultGraceFixture fx) : IClassFixture<DefaultGraceFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task StoppedHeartbeat_NodeNotReadyWithin50s_Tainted_PodsEvicted_AndClearedWhenItComesBack()
    {
        Support.Kubectl.RequireInstalled();
        var client = fx.Client;
        const string ns = "lifecycle";
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } }, cancellationToken: Ct);
        var nodes = new[] { await fx.NodeAsync("life-1"), await fx.NodeAsync("life-2"), await fx.NodeAsync("life-3") };
        try
        {
            foreach (var node in nodes)
                for (int i = 0; i < 2; i++) await client.CoreV1.CreateNamespacedPodAsync(Pods.Bare($"{node.Name}-{i}", node.Name), ns, cancellationToken: Ct);
            await Poll.UntilAsync("6 pods running", async () =>
                (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.Count(p => p.Status?.Phase == "Running") == 6,
                TimeSpan.FromSeconds(30), () => Pods.Describe(client, ns), Ct);

            // A Deployment too: the scheduler spreads its replicas, so one lands on each node.
            (await fx.Kubectl.RunAsync("-n", ns, "create", "deployment", "web", "--image=registry.local/web:1", "--replicas=3")).Ok();
            await Poll.UntilAsync("web's 3 replicas ready", async () =>
                (await client.AppsV1.ReadNamespacedDeploymentAsync("web", ns, cancellationToken: Ct)).Status?.ReadyReplicas == 3,
                TimeSpan.FromSeconds(30), () => Pods.Describe(client, ns), Ct);
            var webBefore = (await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "app=web", cancellationToken: Ct)).Items;
            var webOnLost = webBefore.Where(p => p.Spec.NodeName == "life-2").Select(p => p.Metadata.Name).ToList();
            Assert.True(webOnLost.Count > 0, "no replica of web on life-2: " + await Pods.Describe(client, ns));

            // DefaultTolerationSeconds admission gave every pod the not-ready and unreachable tolerations.
            var tolerations = (await client.CoreV1.ReadNamespacedPodAsync("life-2-0", ns, cancellationToken: Ct)).Spec.Tolerations;
            foreach (var key in new[] { "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable" })
                Assert.Contains(tolerations, t => t.Key == key && t.OperatorProperty == "Exists" && t.Effect == "NoExecute" && t.TolerationSeconds == 3);

            var stopped = DateTime.UtcNow;
            nodes[1].StopHeartbeat();
            await Poll.UntilAsync("life-2 NotReady in kubectl get nodes", async () =>
                System.Text.RegularExpressions.Regex.IsMatch((await fx.Kubectl.RunAsync("get", "node", "life-2")).Out, @"(?m)^life-2\s+NotReady\s"),
                TimeSpan.FromSeconds(55), async () => (await fx.Kubectl.RunAsync("get", "nodes")).Out, Ct);
            var took = DateTime.UtcNow - stopped;
            Assert.True(took < TimeSpan.FromSeconds(50), $"NotReady after {took.TotalSeconds:F1} s");
            Assert.True(took > TimeSpan.FromSeconds(25), $"NotReady after only {took.TotalSeconds:F1} s: the 40 s grace was not honoured");

            var lost = await client.CoreV1.ReadNodeAsync("life-2", cancellationToken: Ct);
            var ready = lost.Status.Conditions.Single(c => c.Type == "Ready");
            Assert.Equal(("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."), (ready.Status, ready.Reason, ready.Message));
            await Poll.UntilAsync("unreachable taints on life-2", async () =>
                await Pods.HasTaint(client, "life-2", "node.kubernetes.io/unreachable", "NoExecute") && await Pods.HasTaint(client, "life-2", "node.kubernetes.io/unreachable", "NoSchedule"),
                TimeSpan.FromSeconds(10), () => Pods.Taints(client, "life-2"), Ct);
            Assert.NotNull((await client.CoreV1.ReadNodeAsync("life-2", cancellationToken: Ct)).Spec.Taints.Single(t => t.Effect == "NoExecute").TimeAdded);

            // Its pods go after their 3 s toleration; the others stay.
            await Poll.UntilAsync("life-2's pods evicted", async () =>
                (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.All(p => p.Spec.NodeName != "life-2"),
                TimeSpan.FromSeconds(20), () => Pods.Describe(client, ns), Ct);
            var left = (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.Where(p => p.Metadata.Name.StartsWith("life-", StringComparison.Ordinal)).ToList();
            Assert.True(left.Count == 4 && left.All(p => p.Spec.NodeName is "life-1" or "life-3"), await Pods.Describe(client, ns));
            // The Deployment's replicas that were on life-2 were recreated on the other nodes.
            await Poll.UntilAsync("web back to 3 ready replicas off life-2", async () =>
            {
                var web = (await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "app=web", cancellationToken: Ct)).Items;
                return web.Count == 3 && web.All(p => p.Spec.NodeName is "life-1" or "life-3" && p.Status?.Phase == "Running")
                    && !web.Any(p => webOnLost.Contains(p.Metadata.Name));
            }, TimeSpan.FromSeconds(30), () => Pods.Describe(client, ns), Ct);
            var events = (await fx.Kubectl.RunAsync("-n", ns, "get", "events")).Ok().Out;
            Assert.Contains($"Marking for deletion Pod {ns}/life-2-0", events);
            Assert.Matches(@"Warning\s+NodeNotReady\s+pod/life-2-0\s+Node is not ready", events);

            // The node comes back: its kubelet renews the Lease and posts Ready; the taints go.
            await client.CoordinationV1.PatchNamespacedLeaseAsync(new V1Patch(new { spec = new { renewTime = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'") } }, V1Patch.PatchType.MergePatch),
                "life-2", "kube-node-lease", cancellationToken: Ct);
            var now = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");
            await client.CoreV1.PatchNodeStatusAsync(new V1Patch(new { status = new { conditions = new[] { new { type = "Ready", status = "True", reason = "KubeletReady", message = "kubelet is posting ready status", lastHeartbeatTime = now, lastTransitionTime = now } } } },
                V1Patch.PatchType.StrategicMergePatch), "life-2", cancellationToken: Ct);
            await Poll.UntilAsync("life-2 Ready without taints", async () =>
                (await client.CoreV1.ReadNodeAsync("life-2", cancellationToken: Ct)).Spec.Taints is null or { Count: 0 }
                && System.Text.RegularExpressions.Regex.IsMatch((await fx.Kubectl.RunAsync("get", "node", "life-2")).Out, @"(?m)^life-2\s+Ready\s"),
                TimeSpan.FromSeconds(10), () => Pods.Taints(client, "life-2"), Ct);
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }
}

[Trait("Category", "External")]
public sealed class NodeLifecycleShortGraceTests(ShortGraceFixture fx) : IClassFixture<ShortGraceFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    static readonly TimeSpan Renew = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task LostNode_PodsStayForTheirTolerationSeconds_ForeverWithoutSeconds_AndAreMarkedNotReady()
    {
        var client = fx.Client;
        const string ns = "tolerations";
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } }, cancellationToken: Ct);
        await using var node = await fx.NodeAsync("tol-1", Renew);
        await client.CoreV1.CreateNamespacedPodAsync(Pods.Bare("forever", "tol-1",
            [new V1Toleration { Key = "node.kubernetes.io/unreachable", OperatorProperty = "Exists", Effect = "NoExecute" }]), ns, cancellationToken: Ct);
        await client.CoreV1.CreateNamespacedPodAsync(Pods.Bare("two-seconds", "tol-1",
            [new V1Toleration { Key = "node.kubernetes.io/unreachable", OperatorProperty = "Exists", Effect = "NoExecute", TolerationSeconds = 2 }]), ns, cancellationToken: Ct);
        await client.CoreV1.CreateNamespacedPodAsync(Pods.Bare("default", "tol-1"), ns, cancellationToken: Ct);
        await Poll.UntilAsync("3 pods ready", async () =>
            (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.Count(p => p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true) == 3,
            TimeSpan.FromSeconds(20), () => Pods.Describe(client, ns), Ct);
        // The admission keeps a toleration the pod gave and adds the other.
        var forever = (await client.CoreV1.ReadNamespacedPodAsync("forever", ns, cancellationToken: Ct)).Spec.Tolerations;
        Assert.True(forever.Count == 2 && forever.Single(t => t.Key == "node.kubernetes.io/not-ready").TolerationSeconds == 60
            && forever.Single(t => t.Key == "node.kubernetes.io/unreachable").TolerationSeconds is null, string.Join(", ", forever.Select(t => $"{t.Key}:{t.TolerationSeconds}")));

        node.StopHeartbeat();
        await Poll.UntilAsync("two-seconds evicted", async () =>
            (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.All(p => p.Metadata.Name != "two-seconds"),
            TimeSpan.FromSeconds(30), () => Pods.Describe(client, ns), Ct);
        var taint = (await client.CoreV1.ReadNodeAsync("tol-1", cancellationToken: Ct)).Spec.Taints.Single(t => t.Effect == "NoExecute");
        Assert.Equal("node.kubernetes.io/unreachable", taint.Key);
        Assert.True(DateTime.UtcNow - taint.TimeAdded!.Value.ToUniversalTime() >= TimeSpan.FromSeconds(1.5), $"evicted before 2 s had passed since {taint.TimeAdded:O}");
        await Poll.UntilAsync("the remaining pods marked not ready", async () =>
            (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.All(p => p.Status.Conditions.Single(c => c.Type == "Ready").Status == "False"),
            TimeSpan.FromSeconds(10), () => Pods.Describe(client, ns), Ct);
        await Task.Delay(TimeSpan.FromSeconds(2), Ct); // what must not happen: the other two evicted as well
        var left = (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.Select(p => p.Metadata.Name).Order().ToList();
        Assert.Equal(["default", "forever"], left);
    }

    [Fact]
    public async Task NotReadyNode_GetsNotReadyTaints_TakesNoPods_ManualNoExecuteTaintEvicts_AndRecovers()
    {
        var client = fx.Client;
        const string ns = "notready";
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } }, cancellationToken: Ct);
        await using var node = await fx.NodeAsync("sick-1", Renew);
        await client.CoreV1.CreateNamespacedPodAsync(Pods.Bare("resident", "sick-1"), ns, cancellationToken: Ct);
        await client.CoreV1.CreateNamespacedPodAsync(Pods.Bare("tolerant", "sick-1",
            [new V1Toleration { Key = "evict", OperatorProperty = "Exists", Effect = "NoExecute" }]), ns, cancellationToken: Ct);
        await Poll.UntilAsync("2 pods running", async () =>
            (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.Count(p => p.Status?.Phase == "Running") == 2,
            TimeSpan.FromSeconds(20), () => Pods.Describe(client, ns), Ct);

        // The kubelet reports Ready=False while still renewing its Lease.
        async Task PostReady(string status)
        {
            var now = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");
            await client.CoreV1.PatchNodeStatusAsync(new V1Patch(new { status = new { conditions = new[] { new { type = "Ready", status, reason = "KubeletNotReady", message = "container runtime is down", lastHeartbeatTime = now, lastTransitionTime = now } } } },
                V1Patch.PatchType.StrategicMergePatch), "sick-1", cancellationToken: Ct);
        }
        await PostReady("False");
        await Poll.UntilAsync("not-ready taints", async () =>
            await Pods.HasTaint(client, "sick-1", "node.kubernetes.io/not-ready", "NoSchedule") && await Pods.HasTaint(client, "sick-1", "node.kubernetes.io/not-ready", "NoExecute"),
            TimeSpan.FromSeconds(10), () => Pods.Taints(client, "sick-1"), Ct);
        await client.CoreV1.CreateNamespacedPodAsync(Pods.Bare("newcomer", "sick-1"), ns, cancellationToken: Ct);
        await Poll.UntilAsync("newcomer unschedulable on the not-ready node", async () =>
            (await client.CoreV1.ReadNamespacedPodAsync("newcomer", ns, cancellationToken: Ct)).Status?.Conditions?.Any(c => c.Type == "PodScheduled" && c.Reason == "Unschedulable"
                && c.Message.Contains("1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }")) == true,
            TimeSpan.FromSeconds(10), () => Pods.Describe(client, ns), Ct);
        Assert.Equal(3, (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.Count); // 60 s tolerations: nobody evicted yet

        await PostReady("True");
        await Poll.UntilAsync("taints cleared and newcomer bound", async () =>
            (await client.CoreV1.ReadNodeAsync("sick-1", cancellationToken: Ct)).Spec.Taints is null or { Count: 0 }
            && (await client.CoreV1.ReadNamespacedPodAsync("newcomer", ns, cancellationToken: Ct)).Spec.NodeName == "sick-1",
            TimeSpan.FromSeconds(15), async () => await Pods.Taints(client, "sick-1") + "; " + await Pods.Describe(client, ns), Ct);

        // A NoExecute taint a pod does not tolerate removes it at once; the pod that tolerates it stays.
        (await fx.Kubectl.RunAsync("taint", "nodes", "sick-1", "evict=now:NoExecute")).Ok();
        await Poll.UntilAsync("untolerating pods evicted", async () =>
            (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.Select(p => p.Metadata.Name).SequenceEqual(["tolerant"]),
            TimeSpan.FromSeconds(10), () => Pods.Describe(client, ns), Ct);
        Assert.Contains($"Marking for deletion Pod {ns}/resident", (await fx.Kubectl.RunAsync("-n", ns, "get", "events")).Ok().Out);
    }
}
