// Deployment and ReplicaSet controllers driven by the real kubectl 1.32: rollouts, bounds, history, undo, pause, scale, restarts.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;
using k8s;
using k8s.Models;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "External")]
public sealed class DeploymentTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    Support.Kubectl K => fx.Kubectl;
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A namespace with a simulated node; the scheduler binds the pods (the test's node is the only one: a disposed node is deleted).</summary>
    async Task<(string Ns, Kubernetes Client, IAsyncDisposable Cleanup)> SetUpAsync(string ns)
    {
        Support.Kubectl.RequireInstalled();
        (await K.RunAsync("create", "namespace", ns)).Ok();
        var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(fx.Server.KubeconfigPath));
        var node = await SimulatedNode.StartAsync(client, "node-" + ns, 10, ct: Ct);
        return (ns, client, new Cleanup(node, client));
    }

    sealed class Cleanup(SimulatedNode node, Kubernetes client) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await node.DisposeAsync();
            client.Dispose();
        }
    }

    [Fact]
    public async Task CreateDeployment_RolloutStatusCompletes_ThenScaleUpAndDown()
    {
        var (ns, _, cleanup) = await SetUpAsync("deploy-create");
        await using var _ = cleanup;
        (await K.RunAsync("-n", ns, "create", "deployment", "web", "--image=nginx:1.25", "--replicas=3")).Ok();
        var status = (await K.RunAsync("-n", ns, "rollout", "status", "deployment/web", "--timeout=60s")).Ok().Out;
        Assert.Contains("deployment \"web\" successfully rolled out", status);

        var d = await GetAsync(ns, "deployment", "web");
        Assert.Equal("1", Annotation(d, "deployment.kubernetes.io/revision"));
        Assert.Equal(d["metadata"]!["generation"]!.GetValue<long>(), d["status"]!["observedGeneration"]!.GetValue<long>());
        foreach (var field in new[] { "replicas", "updatedReplicas", "readyReplicas", "availableReplicas" })
            Assert.Equal(3, d["status"]![field]!.GetValue<int>());
        Assert.Null(d["status"]!["unavailableReplicas"]);
        var sets = await ListAsync(ns, "replicasets");
        var rs = Assert.Single(sets);
        var hash = rs["metadata"]!["labels"]!["pod-template-hash"]!.GetValue<string>();
        var rsName = "web-" + hash;
        Assert.Equal(rsName, Name(rs));
        Assert.Equal("3", Annotation(rs, "deployment.kubernetes.io/desired-replicas"));
        Assert.Equal("4", Annotation(rs, "deployment.kubernetes.io/max-replicas")); // 3 + 25% rounded up
        Assert.Equal("1", Annotation(rs, "deployment.kubernetes.io/revision"));
        Assert.Equal(d["metadata"]!["uid"]!.GetValue<string>(), rs["metadata"]!["ownerReferences"]![0]!["uid"]!.GetValue<string>());
        var available = Condition(d, "Available");
        Assert.Equal(("True", "MinimumReplicasAvailable", "Deployment has minimum availability."), available);
        Assert.Equal(("True", "NewReplicaSetAvailable", $"ReplicaSet \"{rsName}\" has successfully progressed."), Condition(d, "Progressing"));
        var pods = await ListAsync(ns, "pods");
        Assert.Equal(3, pods.Count);
        Assert.All(pods, p => Assert.StartsWith(rsName + "-", Name(p)));
        await WaitForEventAsync(ns, "ScalingReplicaSet", $"Scaled up replica set {rsName} from 0 to 3");
        await WaitForEventAsync(ns, "SuccessfulCreate", "Created pod: " + Name(pods[0]));

        (await K.RunAsync("-n", ns, "scale", "deployment/web", "--replicas=5")).Ok();
        (await K.RunAsync("-n", ns, "rollout", "status", "deployment/web", "--timeout=60s")).Ok();
        await WaitAsync(async () => (await ListAsync(ns, "pods")).Count == 5, "5 pods after scaling to 5");
        await WaitForEventAsync(ns, "ScalingReplicaSet", $"Scaled up replica set {rsName} from 3 to 5");
        (await K.RunAsync("-n", ns, "scale", "deployment/web", "--replicas=2")).Ok();
        await WaitAsync(async () => (await ListAsync(ns, "pods")).Count == 2 && (await GetAsync(ns, "deployment", "web"))["status"]!["replicas"]!.GetValue<int>() == 2,
            "2 pods and status.replicas 2 after scaling to 2");
        await WaitForEventAsync(ns, "ScalingReplicaSet", $"Scaled down replica set {rsName} from 5 to 2");
        await WaitForEventAsync(ns, "SuccessfulDelete", "Deleted pod: ");
        Assert.Single(await ListAsync(ns, "replicasets"));
    }

    [Fact]
    public async Task SetImage_RollsOutWithinSurgeAndUnavailability_HistoryAndUndoRestore()
    {
        var (ns, client, cleanup) = await SetUpAsync("deploy-roll");
        await using var _ = cleanup;
        (await K.RunAsync("-n", ns, "create", "deployment", "web", "--image=nginx:1.25", "--replicas=4")).Ok();
        (await K.RunAsync("-n", ns, "patch", "deployment", "web", "-p", """{"spec":{"strategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":1}}}}""")).Ok();
        (await K.RunAsync("-n", ns, "rollout", "status", "deployment/web", "--timeout=60s")).Ok();

        await using var watch = await PodWatch.StartAsync(client, ns);
        (await K.RunAsync("-n", ns, "set", "image", "deployment/web", "nginx=nginx:1.26")).Ok();
        (await K.RunAsync("-n", ns, "annotate", "deployment/web", "kubernetes.io/change-cause=image 1.26")).Ok();
        (await K.RunAsync("-n", ns, "rollout", "status", "deployment/web", "--timeout=60s")).Ok();
        await WaitAsync(async () => Images(await ListAsync(ns, "pods")) == "nginx:1.26 x4", "4 pods of nginx:1.26");
        Assert.Equal(2, (await ListAsync(ns, "replicasets")).Count);

        var history = (await K.RunAsync("-n", ns, "rollout", "history", "deployment/web")).Ok().Out;
        Assert.Matches(@"(?m)^1\s+<none>", history);
        Assert.Matches(@"(?m)^2\s+image 1.26$", history);
        var first = (await K.RunAsync("-n", ns, "rollout", "history", "deployment/web", "--revision=1")).Ok().Out;
        Assert.Contains("nginx:1.25", first);

        (await K.RunAsync("-n", ns, "rollout", "undo", "deployment/web")).Ok();
        (await K.RunAsync("-n", ns, "rollout", "status", "deployment/web", "--timeout=60s")).Ok();
        await WaitAsync(async () => Images(await ListAsync(ns, "pods")) == "nginx:1.25 x4", "4 pods of nginx:1.25 after undo");
        var d = await GetAsync(ns, "deployment", "web");
        Assert.Equal("nginx:1.25", d["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal("3", Annotation(d, "deployment.kubernetes.io/revision"));
        var sets = await ListAsync(ns, "replicasets");
        Assert.Equal(2, sets.Count); // the first ReplicaSet was reused, as revision 3
        var reused = sets.Single(s => Annotation(s, "deployment.kubernetes.io/revision") == "3");
        Assert.Equal("1", Annotation(reused, "deployment.kubernetes.io/revision-history"));
        history = (await K.RunAsync("-n", ns, "rollout", "history", "deployment/web")).Ok().Out;
        Assert.DoesNotMatch(@"(?m)^1\s", history);
        Assert.Matches(@"(?m)^3\s+<none>", history);

        var seen = await watch.StopAsync();
        Assert.True(seen.Events >= 16, $"the watch saw only {seen.Events} events");
        Assert.True(seen.MaxPods <= 5, $"up to {seen.MaxPods} pods existed at once; replicas 4 + maxSurge 1 allows 5");
        Assert.True(seen.MinReady >= 3, $"only {seen.MinReady} pods were ready at one point; replicas 4 - maxUnavailable 1 requires 3");
    }

    [Fact]
    public async Task PauseHoldsTheRollout_ResumeAndRestartRollOut()
    {
        var (ns, _, cleanup) = await SetUpAsync("deploy-pause");
        await using var _ = cleanup;
        (await K.RunAsync("-n", ns, "create", "deployment", "web", "--image=nginx:1.25", "--replicas=2")).Ok();
        (await K.RunAsync("-n", ns, "rollout", "status", "deployment/web", "--timeout=60s")).Ok();

        (await K.RunAsync("-n", ns, "rollout", "pause", "deployment/web")).Ok();
        await WaitAsync(async () => Condition(await GetAsync(ns, "deployment", "web"), "Progressing") == ("Unknown", "DeploymentPaused", "Deployment is paused"),
            "Progressing=Unknown DeploymentPaused");
        (await K.RunAsync("-n", ns, "set", "image", "deployment/web", "nginx=nginx:1.26")).Ok();
        await WaitAsync(async () =>
        {
            var d = await GetAsync(ns, "deployment", "web");
            return d["metadata"]!["generation"]!.GetValue<long>() == d["status"]!["observedGeneration"]!.GetValue<long>();
        }, "the paused deployment's new generation observed");
        Assert.Single(await ListAsync(ns, "replicasets"));
        Assert.Equal("nginx:1.25 x2", Images(await ListAsync(ns, "pods")));

        (await K.RunAsync("-n", ns, "rollout", "resume", "deployment/web")).Ok();
        (await K.RunAsync("-n", ns, "rollout", "status", "deployment/web", "--timeout=60s")).Ok();
        await WaitAsync(async () => Images(await ListAsync(ns, "pods")) == "nginx:1.26 x2", "2 pods of nginx:1.26 after resume");
        Assert.Equal(2, (await ListAsync(ns, "replicasets")).Count);

        (await K.RunAsync("-n", ns, "rollout", "restart", "deployment/web")).Ok();
        (await K.RunAsync("-n", ns, "rollout", "status", "deployment/web", "--timeout=60s")).Ok();
        var sets = await ListAsync(ns, "replicasets");
        Assert.Equal(3, sets.Count);
        var newest = sets.Single(s => Annotation(s, "deployment.kubernetes.io/revision") == "3");
        await WaitAsync(async () =>
        {
            var pods = await ListAsync(ns, "pods");
            return pods.Count == 2 && pods.All(p => p["metadata"]!["annotations"]?["kubectl.kubernetes.io/restartedAt"] is not null
                && Name(p).StartsWith(Name(newest) + "-", StringComparison.Ordinal));
        }, "2 restarted pods of the newest ReplicaSet");
    }

    [Fact]
    public async Task Recreate_DeletesOldPodsBeforeCreatingNewOnes()
    {
        var (ns, client, cleanup) = await SetUpAsync("deploy-recreate");
        await using var _ = cleanup;
        (await K.RunAsync("-n", ns, "create", "deployment", "web", "--image=nginx:1.25", "--replicas=3")).Ok();
        (await K.RunAsync("-n", ns, "patch", "deployment", "web", "--type=merge", "-p", """{"spec":{"revisionHistoryLimit":0,"strategy":{"type":"Recreate","rollingUpdate":null}}}""")).Ok();
        (await K.RunAsync("-n", ns, "rollout", "status", "deployment/web", "--timeout=60s")).Ok();

        await using var watch = await PodWatch.StartAsync(client, ns);
        (await K.RunAsync("-n", ns, "set", "image", "deployment/web", "nginx=nginx:1.26")).Ok();
        (await K.RunAsync("-n", ns, "rollout", "status", "deployment/web", "--timeout=60s")).Ok();
        await WaitAsync(async () => Images(await ListAsync(ns, "pods")) == "nginx:1.26 x3", "3 pods of nginx:1.26");
        var seen = await watch.StopAsync();
        Assert.True(seen.NewWhileOld.Count == 0, "new pods were created while old ones existed: " + string.Join(", ", seen.NewWhileOld));
        Assert.True(seen.Events >= 9, $"the watch saw only {seen.Events} events");
        await WaitForEventAsync(ns, "ScalingReplicaSet", " from 3 to 0");
        await WaitAsync(async () => (await ListAsync(ns, "replicasets")).Count == 1, "the old ReplicaSet deleted (revisionHistoryLimit 0)");
    }

    [Fact]
    public async Task ServerKilledDuringScaleUp_RestartLeavesExactlyTheWantedPods()
    {
        Support.Kubectl.RequireInstalled();
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var port = RuntimeProcess.FreePort();
        var server = await RuntimeProcess.StartAsync(data, port);
        const int wanted = 150;
        int atKill;
        try
        {
            var kubectl = new Support.Kubectl(server.KubeconfigPath, Path.Combine(dir.Path, "cache"));
            (await kubectl.RunAsync("create", "deployment", "web", "--image=nginx:1.25", "--replicas=1")).Ok();
            using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(server.KubeconfigPath));
            await WaitAsync(async () => (await client.CoreV1.ListNamespacedPodAsync("default", cancellationToken: Ct)).Items.Count == 1, "the first pod");
            var list = await client.CoreV1.ListNamespacedPodAsync("default", cancellationToken: Ct);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            var names = new HashSet<string>(list.Items.Select(p => p.Metadata.Name));
            var killed = Task.Run(async () =>
            {
                await foreach (var (type, pod) in client.CoreV1.WatchListNamespacedPodAsync("default", resourceVersion: list.Metadata.ResourceVersion, cancellationToken: stop.Token))
                {
                    if (type == WatchEventType.Added) names.Add(pod.Metadata.Name);
                    if (names.Count >= 8)
                    {
                        server.Kill();
                        return names.Count;
                    }
                }
                return names.Count;
            });
            (await kubectl.RunAsync("scale", "deployment/web", $"--replicas={wanted}")).Ok();
            atKill = await killed.WaitAsync(Patience, Ct);
        }
        finally
        {
            server.Kill();
            await server.DisposeAsync();
        }

        server = await RuntimeProcess.StartAsync(data, port);
        await using var restarted = server;
        using var again = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(server.KubeconfigPath));
        var before = (await again.CoreV1.ListNamespacedPodAsync("default", cancellationToken: Ct)).Items.Count;
        Assert.True(before < wanted, $"the server was killed after all {wanted} pods existed ({before}); the test did not interrupt a scale-up");
        await WaitAsync(async () =>
        {
            var rs = (await again.AppsV1.ListNamespacedReplicaSetAsync("default", cancellationToken: Ct)).Items;
            return rs.Count == 1 && rs[0].Status?.Replicas == wanted;
        }, $"one ReplicaSet reporting {wanted} pods (killed at {atKill} seen)");
        var d = await again.AppsV1.ReadNamespacedDeploymentAsync("web", "default", cancellationToken: Ct);
        await WaitAsync(async () => (await again.AppsV1.ReadNamespacedDeploymentAsync("web", "default", cancellationToken: Ct)).Status?.Replicas == wanted, "deployment status.replicas");
        Assert.Equal(wanted, (await again.CoreV1.ListNamespacedPodAsync("default", cancellationToken: Ct)).Items.Count);
        Assert.Single((await again.AppsV1.ListNamespacedReplicaSetAsync("default", cancellationToken: Ct)).Items);
        Assert.NotNull(d);
    }

    [Fact]
    public async Task ReplicaSet_AdoptsReleasesReplacesFailed_DeletesNotReadyFirst_ReportsCreateFailure()
    {
        var (ns, client, cleanup) = await SetUpAsync("rs-claims");
        await using var _ = cleanup;
        (await K.RunAsync("-n", ns, "run", "orphan", "--image=php:8", "--labels=tier=frontend")).Ok();
        await ApplyAsync(ns, ReplicaSetYaml("frontend", 3));
        await WaitAsync(async () => Owned(await ListAsync(ns, "pods")).Count == 3 && (await GetAsync(ns, "rs", "frontend"))["status"]?["readyReplicas"]?.GetValue<int>() == 3,
            "3 ready pods owned by frontend");
        var pods = await ListAsync(ns, "pods");
        Assert.Equal(3, pods.Count); // the orphan was adopted: only two were created
        Assert.Contains(Owned(pods), p => Name(p) == "orphan");

        (await K.RunAsync("-n", ns, "label", "pod", "orphan", "tier=other", "--overwrite")).Ok();
        await WaitAsync(async () =>
        {
            var all = await ListAsync(ns, "pods");
            return all.Count == 4 && Owned(all).Count == 3 && Owned(all).All(p => Name(p) != "orphan");
        }, "the relabelled pod released and replaced");

        var victim = Name(Owned(await ListAsync(ns, "pods"))[0]);
        await client.CoreV1.PatchNamespacedPodStatusAsync(new V1Patch(new { status = new { phase = "Failed" } }, V1Patch.PatchType.MergePatch), victim, ns, cancellationToken: Ct);
        await WaitAsync(async () =>
        {
            var active = Owned(await ListAsync(ns, "pods")).Where(p => p["status"]?["phase"]?.GetValue<string>() != "Failed").ToList();
            return active.Count == 3 && active.All(p => Name(p) != victim);
        }, "a replacement for the failed pod");

        (await K.RunAsync("-n", ns, "scale", "rs", "frontend", "--replicas=4")).Ok();
        await WaitAsync(async () => (await GetAsync(ns, "rs", "frontend"))["status"]?["readyReplicas"]?.GetValue<int>() == 4, "4 ready pods");
        var ready = Owned(await ListAsync(ns, "pods")).Where(p => p["status"]?["phase"]?.GetValue<string>() == "Running").Select(Name).ToList();
        var notReady = ready[^1];
        await client.CoreV1.PatchNamespacedPodStatusAsync(new V1Patch(new { status = new { conditions = new[] { new { type = "Ready", status = "False" } } } }, V1Patch.PatchType.StrategicMergePatch),
            notReady, ns, cancellationToken: Ct);
        await WaitAsync(async () => (await GetAsync(ns, "rs", "frontend"))["status"]?["readyReplicas"]?.GetValue<int>() == 3, "readyReplicas 3 after one pod turned not ready");
        (await K.RunAsync("-n", ns, "scale", "rs", "frontend", "--replicas=3")).Ok();
        await WaitAsync(async () => Owned(await ListAsync(ns, "pods")).Count(p => p["status"]?["phase"]?.GetValue<string>() != "Failed") == 3, "3 pods after scaling down");
        Assert.DoesNotContain(notReady, Owned(await ListAsync(ns, "pods")).Select(Name));
        var status = (await GetAsync(ns, "rs", "frontend"))["status"]!;
        Assert.Equal(3, status["replicas"]!.GetValue<int>());
        Assert.Equal(3, status["fullyLabeledReplicas"]!.GetValue<int>());

        var longName = string.Join('.', Enumerable.Repeat(new string('a', 60), 4)) + ".aaaaa"; // 249: its pods' names (NAME-xxxxx) would be 255
        await ApplyAsync(ns, ReplicaSetYaml(longName, 1).Replace("tier: frontend", "tier: long"));
        await WaitAsync(async () => (await GetAsync(ns, "rs", longName))["status"]?["conditions"]?[0]?["reason"]?.GetValue<string>() == "FailedCreate",
            "ReplicaFailure FailedCreate on a ReplicaSet whose pods cannot be named");
        var condition = (await GetAsync(ns, "rs", longName))["status"]!["conditions"]![0]!;
        Assert.Equal("ReplicaFailure", condition["type"]!.GetValue<string>());
        Assert.Contains("must be no more than 253 characters", condition["message"]!.GetValue<string>());
        // No FailedCreate event here: its name (NAME.hash) would be too long, as upstream's (NAME.timestamp) would.
    }

    [Fact]
    public async Task ProgressDeadline_RolloutStatusReportsIt()
    {
        Support.Kubectl.RequireInstalled();
        const string ns = "deploy-deadline"; // no node: the pods never become ready
        (await K.RunAsync("create", "namespace", ns)).Ok();
        await ApplyAsync(ns, """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: slow}
            spec:
              replicas: 1
              progressDeadlineSeconds: 2
              selector: {matchLabels: {app: slow}}
              template:
                metadata: {labels: {app: slow}}
                spec: {containers: [{name: app, image: busybox}]}
            """);
        var result = await K.RunAsync("-n", ns, "rollout", "status", "deployment/slow", "--timeout=30s");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("error: deployment \"slow\" exceeded its progress deadline", result.Error);
        var d = await GetAsync(ns, "deployment", "slow");
        var (status, reason, message) = Condition(d, "Progressing");
        Assert.Equal(("False", "ProgressDeadlineExceeded"), (status, reason));
        Assert.Matches("^ReplicaSet \"slow-[a-z0-9]+\" has timed out progressing.$", message);
        Assert.Equal("Always", d["spec"]!["template"]!["spec"]!["containers"]![0]!["imagePullPolicy"]!.GetValue<string>());
    }

    static string ReplicaSetYaml(string name, int replicas) => $$"""
        apiVersion: apps/v1
        kind: ReplicaSet
        metadata:
          name: {{name}}
        spec:
          replicas: {{replicas}}
          selector:
            matchLabels:
              tier: frontend
          template:
            metadata:
              labels:
                tier: frontend
            spec:
              containers:
              - name: php
                image: "php:8"
        """;

    async Task ApplyAsync(string ns, string yaml)
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "object.yaml");
        await File.WriteAllTextAsync(file, yaml, Ct);
        (await K.RunAsync("-n", ns, "apply", "-f", file)).Ok();
    }

    static List<JsonObject> Owned(List<JsonObject> pods) =>
        pods.Where(p => p["metadata"]!["ownerReferences"]?.AsArray().Any(r => r!["kind"]!.GetValue<string>() == "ReplicaSet") == true).ToList();

    // --- helpers ---

    async Task<JsonObject> GetAsync(string ns, string kind, string name) =>
        JsonNode.Parse((await K.RunAsync("-n", ns, "get", kind, name, "-o", "json")).Ok().Out)!.AsObject();

    async Task<List<JsonObject>> ListAsync(string ns, string resource) =>
        JsonNode.Parse((await K.RunAsync("-n", ns, "get", resource, "-o", "json")).Ok().Out)!["items"]!.AsArray().Select(i => i!.AsObject()).ToList();

    static string Name(JsonObject o) => o["metadata"]!["name"]!.GetValue<string>();

    static string? Annotation(JsonObject o, string key) => o["metadata"]!["annotations"]?[key]?.GetValue<string>();

    static (string?, string?, string?) Condition(JsonObject d, string type) =>
        d["status"]?["conditions"]?.AsArray().Where(c => c!["type"]!.GetValue<string>() == type)
            .Select(c => (c!["status"]?.GetValue<string>(), c["reason"]?.GetValue<string>(), c["message"]?.GetValue<string>())).FirstOrDefault() ?? default;

    /// <summary>"image xN" over the pods, images sorted, e.g. "nginx:1.25 x2, nginx:1.26 x1".</summary>
    static string Images(List<JsonObject> pods) => string.Join(", ", pods
        .GroupBy(p => p["spec"]!["containers"]![0]!["image"]!.GetValue<string>()).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} x{g.Count()}"));

    async Task WaitForEventAsync(string ns, string reason, string messagePart)
    {
        string seen = "";
        await WaitAsync(async () =>
        {
            var events = await ListAsync(ns, "events");
            seen = string.Join("\n", events.Select(e => $"{e["reason"]}: {e["message"]}"));
            return events.Any(e => e["reason"]?.GetValue<string>() == reason && e["message"]?.GetValue<string>()?.Contains(messagePart) == true);
        }, () => $"event {reason} \"{messagePart}\"; events:\n{seen}");
    }

    static Task WaitAsync(Func<Task<bool>> condition, string what) => WaitAsync(condition, () => what);

    static async Task WaitAsync(Func<Task<bool>> condition, Func<string> what)
    {
        var deadline = DateTime.UtcNow + Patience;
        var started = DateTime.UtcNow;
        try { await Poll.UntilAsync(condition, ok => ok, Patience, "the condition below", _ => what(), TimeSpan.FromMilliseconds(150)); }
        finally { TestContext.Current.SendDiagnosticMessage($"waited {(DateTime.UtcNow - started).TotalSeconds:F1} s for {what()}"); }
    }

    /// <summary>What a watch on a namespace's pods saw: the most pods at once, the fewest ready, new pods created beside old ones.</summary>
    sealed record Seen(int Events, int MaxPods, int MinReady, List<string> NewWhileOld);

    /// <summary>Follows every pod event of a namespace in revision order, checking the state after each one.</summary>
    sealed class PodWatch : IAsyncDisposable
    {
        readonly CancellationTokenSource _stop = new();
        readonly Dictionary<string, V1Pod> _pods = [];
        readonly List<string> _newWhileOld = [];
        int _events, _maxPods, _minReady = int.MaxValue;
        Task _loop = Task.CompletedTask;

        public static async Task<PodWatch> StartAsync(IKubernetes client, string ns)
        {
            var w = new PodWatch();
            var list = await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct);
            foreach (var p in list.Items) w._pods[p.Metadata.Name] = p;
            w.Check(null);
            w._loop = Task.Run(async () =>
            {
                try
                {
                    await foreach (var (type, pod) in client.CoreV1.WatchListNamespacedPodAsync(ns, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: w._stop.Token))
                    {
                        w._events++;
                        if (type == WatchEventType.Deleted) w._pods.Remove(pod.Metadata.Name);
                        else w._pods[pod.Metadata.Name] = pod;
                        w.Check(type == WatchEventType.Added ? pod : null);
                    }
                }
                catch (OperationCanceledException) { }
            });
            return w;
        }

        void Check(V1Pod? added)
        {
            // Surge and availability count active pods, as upstream's: a pod being deleted (Terminating until its
            // kubelet finishes it) is neither one of the replicas nor available.
            var active = _pods.Values.Where(p => p.Metadata.DeletionTimestamp is null).ToList();
            _maxPods = Math.Max(_maxPods, active.Count);
            _minReady = Math.Min(_minReady, active.Count(p => p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true));
            if (added is null) return;
            var image = added.Spec.Containers[0].Image;
            var others = _pods.Values.Where(p => p.Spec.Containers[0].Image != image).Select(p => p.Metadata.Name).ToList();
            if (others.Count > 0) _newWhileOld.Add($"{added.Metadata.Name} ({image}) beside {string.Join(" ", others)}");
        }

        public async Task<Seen> StopAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            return new Seen(_events, _maxPods, _minReady, _newWhileOld);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }
    }
}
