// StatefulSet controller: ordered start, stable names, claims, partitioned rolling update, ordered scale-down, with the real kubectl.
using Appliance.ClusterRuntime.Tests.Support;
using k8s;
using k8s.Models;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "External")]
public sealed class StatefulSetTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    const string Ns = "sts-test";
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    async Task<List<V1Pod>> PodsAsync(IKubernetes client) =>
        [.. (await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: "app=db", cancellationToken: Ct)).Items.OrderBy(p => p.Metadata.Name)];

    static string Describe(List<V1Pod> pods) => pods.Count == 0 ? "no pods" : string.Join("; ", pods.Select(p =>
        $"{p.Metadata.Name} phase={p.Status?.Phase} ready={p.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Status} rev={p.Metadata.Labels?["controller-revision-hash"]} image={p.Spec.Containers[0].Image}"));

    static bool IsReady(V1Pod p) => p.Status?.Phase == "Running" && p.Status.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    [Fact]
    public async Task OrderedStart_StableNames_Claims_PartitionedUpdate_OrderedScaleDown()
    {
        Support.Kubectl.RequireInstalled();
        using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(fx.Server.KubeconfigPath));
        await fx.NamespaceClientAsync(Ns, Ct);
        await using var node = await SimulatedNode.StartAsync(client, "sts-node", 31, ct: Ct);
        node.AutoReady = false;
        using var dir = new Appliance.TestSupport.TempDir();
        (await fx.Kubectl.RunAsync("apply", "-f", dir.Write("sts.yaml", Manifest("registry.local/db:1.0")))).Ok();

        // Ordered start: db-1 only once db-0 is Running and Ready.
        await Poll.UntilAsync(() => PodsAsync(client), p => p.Count == 1 && p[0].Status?.Phase == "Running", Timeout, "db-0 running, not ready", Describe);
        await Poll.StaysAsync(() => PodsAsync(client), p => p.Count == 1, TimeSpan.FromSeconds(2), "only db-0 while it is not Ready", Describe);
        await node.SetPodReadyAsync(Ns, "db-0", true, Ct);
        await Poll.UntilAsync(() => PodsAsync(client), p => p.Count == 2 && p[1].Status?.Phase == "Running", Timeout, "db-1 after db-0 Ready", Describe);
        await Poll.StaysAsync(() => PodsAsync(client), p => p.Count == 2, TimeSpan.FromSeconds(1), "no db-2 while db-1 is not Ready", Describe);
        await node.SetPodReadyAsync(Ns, "db-1", true, Ct);
        await Poll.UntilAsync(() => PodsAsync(client), p => p.Count == 3 && p[2].Status?.Phase == "Running", Timeout, "db-2 after db-1 Ready", Describe);
        await node.SetPodReadyAsync(Ns, "db-2", true, Ct);
        node.AutoReady = true;
        Assert.Contains("partitioned roll out complete: 3 new pods have been updated",
            (await fx.Kubectl.RunAsync("rollout", "status", "sts/db", "-n", Ns, "--timeout=30s")).Ok().Out);

        // Identity and storage.
        var pods = await PodsAsync(client);
        Assert.Equal(["db-0", "db-1", "db-2"], pods.Select(p => p.Metadata.Name));
        var pod1 = pods[1];
        Assert.Equal(("db-1", "1"), (pod1.Metadata.Labels["statefulset.kubernetes.io/pod-name"], pod1.Metadata.Labels["apps.kubernetes.io/pod-index"]));
        Assert.Equal(("db-1", "db"), (pod1.Spec.Hostname, pod1.Spec.Subdomain));
        Assert.Equal("data-db-1", pod1.Spec.Volumes.Single(v => v.Name == "data").PersistentVolumeClaim.ClaimName);
        var claims = (await client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(Ns, cancellationToken: Ct)).Items.OrderBy(c => c.Metadata.Name).ToList();
        Assert.Equal(["data-db-0", "data-db-1", "data-db-2"], claims.Select(c => c.Metadata.Name));
        Assert.All(claims, c => Assert.Equal(("Pending", "1Gi", "db"), (c.Status.Phase, c.Spec.Resources.Requests["storage"].ToString(), c.Metadata.Labels["app"])));
        var pvcTable = (await fx.Kubectl.RunAsync("get", "pvc", "-n", Ns)).Ok().Out;
        Assert.Matches(@"NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE", pvcTable);
        Assert.Matches(@"data-db-0\s+Pending\s+<unset>\s+\d+s", pvcTable);
        Assert.Matches(@"db\s+3/3\s+\d+s", (await fx.Kubectl.RunAsync("get", "sts", "db", "-n", Ns)).Ok().Out);

        // A deleted pod comes back under the same name.
        await client.CoreV1.DeleteNamespacedPodAsync("db-1", Ns, cancellationToken: Ct);
        await Poll.UntilAsync(() => PodsAsync(client), p => p.Count == 3 && p[1].Metadata.Uid != pod1.Metadata.Uid && IsReady(p[1]),
            Timeout, "db-1 recreated with a new uid", Describe);

        // Rolling update with partition 2: only db-2 moves to the new revision.
        (await fx.Kubectl.RunAsync("patch", "sts", "db", "-n", Ns, "-p", """{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}}}}""")).Ok();
        (await fx.Kubectl.RunAsync("set", "image", "sts/db", "-n", Ns, "db=registry.local/db:2.0")).Ok();
        var status = (await fx.Kubectl.RunAsync("rollout", "status", "sts/db", "-n", Ns, "--timeout=30s")).Ok().Out;
        Assert.Contains("partitioned roll out complete: 1 new pods have been updated", status);
        pods = await PodsAsync(client);
        Assert.True(pods.Select(p => p.Spec.Containers[0].Image).SequenceEqual(["registry.local/db:1.0", "registry.local/db:1.0", "registry.local/db:2.0"]), Describe(pods));
        var sts = await client.AppsV1.ReadNamespacedStatefulSetAsync("db", Ns, cancellationToken: Ct);
        Assert.NotEqual(sts.Status.CurrentRevision, sts.Status.UpdateRevision);
        Assert.Equal((3, 3, 2, 1), (sts.Status.Replicas, sts.Status.ReadyReplicas, sts.Status.CurrentReplicas ?? 0, sts.Status.UpdatedReplicas ?? 0));
        Assert.Equal(sts.Status.UpdateRevision, pods[2].Metadata.Labels["controller-revision-hash"]);

        // Partition 0: the rest follow, highest ordinal first, and the update revision becomes current.
        (await fx.Kubectl.RunAsync("patch", "sts", "db", "-n", Ns, "-p", """{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}""")).Ok();
        await Poll.UntilAsync(() => client.AppsV1.ReadNamespacedStatefulSetAsync("db", Ns, cancellationToken: Ct),
            s => s.Status.CurrentRevision == s.Status.UpdateRevision && s.Status.UpdatedReplicas == 3 && s.Status.ReadyReplicas == 3, Timeout,
            "all 3 pods at the update revision", s => $"current={s.Status.CurrentRevision} update={s.Status.UpdateRevision} updated={s.Status.UpdatedReplicas} ready={s.Status.ReadyReplicas}");
        var history = (await fx.Kubectl.RunAsync("rollout", "history", "sts/db", "-n", Ns)).Ok().Out;
        Assert.Matches(@"REVISION\s+CHANGE-CAUSE\s+1\s+<none>\s+2\s+<none>", history);

        // Ordered scale-down: db-2 goes before db-1; db-0 stays; the claims stay (Retain).
        var deleted = new List<string>();
        using var watchStop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var list = await client.CoreV1.ListNamespacedPodAsync(Ns, cancellationToken: Ct);
        var watch = Task.Run(async () =>
        {
            await foreach (var (type, pod) in client.CoreV1.WatchListNamespacedPodAsync(Ns, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: watchStop.Token))
                if (type == WatchEventType.Deleted) lock (deleted) deleted.Add(pod.Metadata.Name);
        }, Ct);
        (await fx.Kubectl.RunAsync("scale", "sts/db", "-n", Ns, "--replicas=1")).Ok();
        await Poll.UntilAsync(() => PodsAsync(client), p => p.Count == 1, Timeout, "only db-0 left", Describe);
        await Poll.UntilAsync(() => Task.FromResult(deleted.Count), n => n >= 2, Timeout, "two deletions seen by the watch");
        await watchStop.CancelAsync();
        try { await watch; } catch (OperationCanceledException) { }
        Assert.Equal(["db-2", "db-1"], deleted);
        Assert.Equal("db-0", (await PodsAsync(client)).Single().Metadata.Name);
        Assert.Equal(3, (await client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(Ns, cancellationToken: Ct)).Items.Count);
    }

    [Fact]
    public async Task Parallel_StartsAllAtOnce_AndAdoptsAnOrphanedPodOfItsName()
    {
        Support.Kubectl.RequireInstalled();
        const string ns = "sts-parallel";
        using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(fx.Server.KubeconfigPath));
        await fx.NamespaceClientAsync(ns, Ct);
        await using var node = await SimulatedNode.StartAsync(client, "sts-par-node", 32, ct: Ct);
        node.AutoReady = false;
        var orphan = await client.CoreV1.CreateNamespacedPodAsync(new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "db-0", Labels = new Dictionary<string, string> { ["app"] = "db" } },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "db", Image = "registry.local/db:1.0" }] },
        }, ns, cancellationToken: Ct);
        using var dir = new Appliance.TestSupport.TempDir();
        var manifest = Manifest("registry.local/db:1.0").Replace($"namespace: {Ns}", $"namespace: {ns}")
            .Replace("  replicas: 3", "  replicas: 3\n  podManagementPolicy: Parallel");
        (await fx.Kubectl.RunAsync("apply", "-f", dir.Write("sts.yaml", manifest))).Ok();

        Task<List<V1Pod>> Pods() => client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct).ContinueWith(t => t.Result.Items.OrderBy(p => p.Metadata.Name).ToList(), Ct);
        // None is Ready, yet all three exist: Parallel does not wait. db-0 is the orphan, adopted and given its identity.
        var pods = await Poll.UntilAsync(Pods, p => p.Count == 3 && p.All(x => x.Metadata.OwnerReferences?.Any(r => r.Controller == true && r.Kind == "StatefulSet") == true)
            && p[0].Metadata.Labels.ContainsKey("statefulset.kubernetes.io/pod-name"), Timeout, "db-0 (adopted), db-1, db-2", Describe);
        Assert.Equal(["db-0", "db-1", "db-2"], pods.Select(p => p.Metadata.Name));
        Assert.Equal(orphan.Metadata.Uid, pods[0].Metadata.Uid);
        Assert.Equal(("0", "db-0"), (pods[0].Metadata.Labels["apps.kubernetes.io/pod-index"], pods[0].Spec.Hostname));
        Assert.DoesNotContain(pods, IsReady);
    }

    static string Manifest(string image) => $"""
        apiVersion: apps/v1
        kind: StatefulSet
        metadata:
          name: db
          namespace: {Ns}
        spec:
          serviceName: db
          replicas: 3
          selector:
            matchLabels:
              app: db
          template:
            metadata:
              labels:
                app: db
            spec:
              containers:
              - name: db
                image: "{image}"
                volumeMounts:
                - name: data
                  mountPath: /var/lib/db
          volumeClaimTemplates:
          - metadata:
              name: data
            spec:
              accessModes: [ReadWriteOnce]
              resources:
                requests:
                  storage: 1Gi
        """;
}
