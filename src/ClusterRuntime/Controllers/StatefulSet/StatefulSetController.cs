// The StatefulSet controller: stable pod names, ordered or parallel start and stop, claims, partitioned rolling updates.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.History;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.StatefulSet;

/// <summary>
/// kube-controller-manager's statefulset controller (<c>updateStatefulSet</c>): a sync ensures the revision of the
/// template, creates missing ordinals (with their claims), removes ordinals past <c>replicas</c> from the highest
/// down, replaces pods not at the update revision from the highest ordinal down to the partition, trims the history
/// and writes the status. With OrderedReady each step waits for the pods before it to be Running and Ready. See README.md.
/// </summary>
public sealed class StatefulSetController : IController
{
    const string Component = "statefulset-controller";
    static readonly ApiResource StatefulSets = Obj.Resource("apps", "statefulsets");
    static readonly ApiResource Pods = Obj.Resource("", "pods");
    static readonly ApiResource Claims = Obj.Resource("", "persistentvolumeclaims");

    readonly ControllerContext _ctx;
    readonly Informer _sets, _pods, _claims;
    readonly ControllerHistory _history;
    readonly WorkQueue _queue;

    /// <summary>Asks for the informers and registers the handlers.</summary>
    public StatefulSetController(ControllerContext ctx)
    {
        _ctx = ctx;
        var logger = ctx.Logger("StatefulSet");
        _queue = new WorkQueue(Name, logger, ctx.Clock);
        _sets = ctx.Informers.For(StatefulSets);
        _pods = ctx.Informers.For(Pods);
        _claims = ctx.Informers.For(Claims);
        _history = new ControllerHistory(ctx, StatefulSets, "controller.kubernetes.io/hash");
        _sets.OnChange((_, cur) => { if (cur is not null) _queue.Add(Informer.KeyOf(cur)); });
        _pods.OnChange((old, cur) => { QueueOwner(old); QueueOwner(cur); QueueAdopters(cur); });
        _history.Informer.OnChange((old, cur) => QueueOwner(cur ?? old));
    }

    /// <inheritdoc />
    public string Name => Component;

    /// <inheritdoc />
    public Task RunAsync(CancellationToken ct) => _queue.RunAsync(2, SyncAsync, ct);

    void QueueOwner(JsonObject? obj)
    {
        if (obj is null || Obj.ControllerRef(obj) is not { } owner || Obj.Str(owner, "kind") != "StatefulSet") return;
        _queue.Add(Informer.KeyOf(Meta.Namespace(obj), Obj.Str(owner, "name") ?? ""));
    }

    void QueueAdopters(JsonObject? pod)
    {
        if (pod is null || Obj.ControllerRef(pod) is not null) return;
        foreach (var set in _sets.ByIndex(SharedInformers.ByNamespace, Meta.Namespace(pod) ?? ""))
            if (ControllerRefs.IsOrphanFor(pod, set) && StatefulPods.Ordinal(set, pod) >= 0) _queue.Add(Informer.KeyOf(set));
    }

    async Task SyncAsync(string key, CancellationToken ct)
    {
        var set = _sets.Get(key);
        if (set is null) return;
        await _history.AdoptAsync(set, ct);
        var (update, revisions, collisions) = await _history.EnsureCurrentAsync(set, ct);
        var updateName = Meta.Name(update)!;
        var currentName = Obj.Str(set, "status", "currentRevision") is { } cr && revisions.Any(r => Meta.Name(r) == cr) ? cr : updateName;
        var current = revisions.First(r => Meta.Name(r) == currentName);

        var selector = LabelSelector.FromObject(Obj.Object(set, "spec", "selector"));
        var pods = await new ControllerRefs(_ctx.Store, set, StatefulSets, selector, p => StatefulPods.Ordinal(set, p) >= 0, _pods)
            .ClaimAsync(Pods, _pods.ByIndex(SharedInformers.ByNamespace, Meta.Namespace(set) ?? ""), ct);
        var minReady = Obj.Int(set, 0, "spec", "minReadySeconds");
        var now = _ctx.Clock.GetUtcNow();
        var status = StatefulSetStatus.Count(pods, currentName, updateName, minReady, now);
        DateTimeOffset? recheck = null;
        if (!Obj.IsDeleting(set))
        {
            var step = new Step(this, set, pods, current, update, status, minReady, now);
            await step.RunAsync(ct);
            recheck = step.Recheck;
        }

        var live = new HashSet<string>(StringComparer.Ordinal) { currentName, updateName };
        foreach (var pod in pods) live.Add(StatefulPods.Revision(pod));
        await _history.TruncateAsync(set, revisions, r => live.Contains(Meta.Name(r)!), ct);

        var json = status.ToJson(set, currentName, updateName, collisions);
        await _ctx.Store.UpdateAsync(StatefulSets, Meta.Namespace(set), Meta.Name(set)!, cur =>
        {
            if (Obj.At(cur, "status", "conditions") is JsonArray conditions) json["conditions"] = conditions.DeepClone();
            cur["status"] = json;
            return cur;
        }, statusOnly: true, ct);
        if (recheck is { } at) _queue.AddAfter(key, at - now + TimeSpan.FromMilliseconds(100));
    }

    /// <summary>One sync's walk over the ordinals; stops where OrderedReady must wait.</summary>
    sealed class Step(StatefulSetController c, JsonObject set, List<JsonObject> pods, JsonObject current, JsonObject update,
        StatefulSetStatus status, int minReady, DateTimeOffset now)
    {
        readonly bool _monotonic = Obj.Str(set, "spec", "podManagementPolicy") != "Parallel";
        readonly string _ns = Meta.Namespace(set)!;

        /// <summary>When a Ready pod the walk waited for becomes available.</summary>
        public DateTimeOffset? Recheck { get; private set; }

        public async Task RunAsync(CancellationToken ct)
        {
            var start = StatefulPods.StartOrdinal(set);
            var count = StatefulPods.Replicas(set);
            var replicas = new JsonObject?[count];
            var condemned = new List<(int Ordinal, JsonObject Pod)>();
            foreach (var pod in pods)
            {
                var ord = StatefulPods.Ordinal(set, pod);
                if (ord >= start && ord < start + count) replicas[ord - start] = pod;
                else if (ord >= 0) condemned.Add((ord, pod));
            }
            condemned.Sort((a, b) => b.Ordinal.CompareTo(a.Ordinal));
            var firstUnhealthy = replicas.Concat(condemned.OrderBy(x => x.Ordinal).Select(x => x.Pod))
                .FirstOrDefault(p => p is not null && !Healthy(p));

            for (var i = 0; i < count; i++)
                if (!await ReplicaAsync(replicas, i, start + i, ct) && _monotonic) return;
            foreach (var (ord, pod) in condemned)
                if (!await CondemnedAsync(pod, ord, firstUnhealthy, ct) && _monotonic) return;
            if (Obj.Str(set, "spec", "updateStrategy", "type") == "OnDelete") return;

            var partition = Math.Max(0, Obj.Int(set, 0, "spec", "updateStrategy", "rollingUpdate", "partition"));
            for (var target = count - 1; target >= partition; target--)
            {
                if (replicas[target] is not { } pod) return;
                if (StatefulPods.Revision(pod) != Meta.Name(update) && !PodState.IsTerminating(pod))
                {
                    await DeletePodAsync(pod, ct);
                    status.CurrentReplicas--;
                    return;
                }
                if (!Healthy(pod)) return;
            }
        }

        bool Healthy(JsonObject pod) => PodState.IsRunningAndReady(pod) && PodState.IsAvailable(pod, minReady, now) && !PodState.IsTerminating(pod);

        /// <summary>Upstream's <c>processReplica</c>; false when the walk must stop here (OrderedReady).</summary>
        async Task<bool> ReplicaAsync(JsonObject?[] replicas, int i, int ordinal, CancellationToken ct)
        {
            var pod = replicas[i];
            if (pod is null)
            {
                var belowPartition = Obj.Str(current, "metadata", "name") != Meta.Name(update)
                    && ordinal < StatefulPods.StartOrdinal(set) + Math.Max(0, Obj.Int(set, 0, "spec", "updateStrategy", "rollingUpdate", "partition"))
                    && Obj.Str(set, "spec", "updateStrategy", "type") != "OnDelete";
                var revision = belowPartition ? current : update;
                var created = StatefulPods.NewPod(set, StatefulSets, RevisionData.Template(revision), ordinal, Meta.Name(revision)!);
                await CreateClaimsAsync(Meta.Name(created)!, ct);
                await CreatePodAsync(created, ct);
                replicas[i] = created;
                status.Replicas++;
                if (Meta.Name(revision) == Meta.Name(current)) status.CurrentReplicas++;
                if (Meta.Name(revision) == Meta.Name(update)) status.UpdatedReplicas++;
                return false;
            }
            if (PodState.IsTerminal(pod))
            {
                if (!PodState.IsTerminating(pod))
                {
                    c._ctx.Events.Record(set, EventRecorder.Warning, "RecreatingFailedPod",
                        $"StatefulSet {_ns}/{Meta.Name(set)} is recreating {(PodState.Phase(pod) == "Failed" ? "failed" : "terminated")} Pod {Meta.Name(pod)}", Component);
                    await DeletePodAsync(pod, ct);
                }
                return false;
            }
            if (PodState.Phase(pod) == "Pending") await CreateClaimsAsync(Meta.Name(pod)!, ct);
            if (PodState.IsTerminating(pod)) return false;
            if (_monotonic && !PodState.IsRunningAndReady(pod)) return false;
            if (!PodState.IsAvailable(pod, minReady, now))
            {
                if (PodState.AvailableAt(pod, minReady) is { } at && (Recheck is null || at < Recheck)) Recheck = at;
                if (_monotonic) return false;
            }
            if (!StatefulPods.IdentityMatches(set, pod, ordinal))
            {
                var written = await c._ctx.Store.UpdateAsync(Pods, _ns, Meta.Name(pod)!, cur =>
                {
                    cur["metadata"]!["resourceVersion"] = Meta.Str(pod, "resourceVersion");
                    StatefulPods.SetIdentity(set, cur, ordinal);
                    return cur;
                }, false, ct);
                await CacheSync.SeenAsync(c._pods, written, ct);
            }
            return true;
        }

        /// <summary>Upstream's <c>processCondemned</c>: scale down from the highest ordinal, waiting for predecessors under OrderedReady.</summary>
        async Task<bool> CondemnedAsync(JsonObject pod, int ordinal, JsonObject? firstUnhealthy, CancellationToken ct)
        {
            if (PodState.IsTerminating(pod)) return false;
            if (_monotonic && !Healthy(pod) && !ReferenceEquals(pod, firstUnhealthy)) return false;
            if (Obj.Str(set, "spec", "persistentVolumeClaimRetentionPolicy", "whenScaled") == "Delete") await OwnClaimsByPodAsync(pod, ct);
            await DeletePodAsync(pod, ct);
            return false;
        }

        async Task CreateClaimsAsync(string podName, CancellationToken ct)
        {
            foreach (var claim in StatefulPods.Claims(set, Claims, podName))
            {
                var name = Meta.Name(claim)!;
                if (c._claims.Get(_ns, name) is { } existing)
                {
                    if (Obj.IsDeleting(existing)) throw new InvalidOperationException($"pvc {name} is being deleted");
                    continue;
                }
                try
                {
                    var created = await c._ctx.Store.CreateAsync(Claims, _ns, claim, ct);
                    c._ctx.Events.Record(set, EventRecorder.Normal, "SuccessfulCreate", $"create Claim {name} Pod {podName} in StatefulSet {Meta.Name(set)} success", Component);
                    await CacheSync.SeenAsync(c._claims, created, ct);
                }
                catch (ApiException e) when (e.Code == 409) { }
                catch (ApiException e)
                {
                    c._ctx.Events.Record(set, EventRecorder.Warning, "FailedCreate", $"create Claim {name} for Pod {podName} in StatefulSet {Meta.Name(set)} failed error: {e.Message}", Component);
                    throw;
                }
            }
        }

        async Task OwnClaimsByPodAsync(JsonObject pod, CancellationToken ct)
        {
            foreach (var template in Obj.Items(set, "spec", "volumeClaimTemplates"))
            {
                var name = StatefulPods.ClaimName(template, Meta.Name(pod)!);
                if (c._claims.Get(_ns, name) is not { } claim || Obj.Items(claim, "metadata", "ownerReferences").Any(r => Obj.Str(r, "uid") == Obj.Uid(pod))) continue;
                await c._ctx.Store.UpdateAsync(Claims, _ns, name, cur =>
                {
                    var refs = Obj.At(cur, "metadata", "ownerReferences") as JsonArray ?? [];
                    refs.Add((JsonNode)StatefulPods.NonControllerRef(pod, Pods));
                    cur["metadata"]!["ownerReferences"] = refs.DeepClone();
                    return cur;
                }, false, ct);
            }
        }

        async Task CreatePodAsync(JsonObject pod, CancellationToken ct)
        {
            var name = Meta.Name(pod)!;
            try
            {
                var created = await c._ctx.Store.CreateAsync(Pods, _ns, pod, ct);
                c._ctx.Events.Record(set, EventRecorder.Normal, "SuccessfulCreate", $"create Pod {name} in StatefulSet {Meta.Name(set)} successful", Component);
                await CacheSync.SeenAsync(c._pods, created, ct);
            }
            catch (ApiException e) when (e.Code != 409)
            {
                c._ctx.Events.Record(set, EventRecorder.Warning, "FailedCreate", $"create Pod {name} in StatefulSet {Meta.Name(set)} failed error: {e.Message}", Component);
                throw;
            }
        }

        async Task DeletePodAsync(JsonObject pod, CancellationToken ct)
        {
            var name = Meta.Name(pod)!;
            try
            {
                await c._ctx.Store.DeleteAsync(Pods, _ns, name, new DeleteOptions(Obj.Uid(pod), null, null), ct);
                c._ctx.Events.Record(set, EventRecorder.Normal, "SuccessfulDelete", $"delete Pod {name} in StatefulSet {Meta.Name(set)} successful", Component);
            }
            catch (ApiException e) when (e.Code is 404 or 409) { }
            await CacheSync.GoneAsync(c._pods, Informer.KeyOf(_ns, name), Obj.Uid(pod), ct);
        }
    }
}
