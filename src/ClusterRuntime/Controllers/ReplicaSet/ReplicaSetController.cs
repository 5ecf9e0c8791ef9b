// The ReplicaSet controller: keeps spec.replicas active pods matching each ReplicaSet's selector.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.ReplicaSet;

/// <summary>
/// Upstream's ReplicaSet controller: claims the active pods its selector matches (adopting orphans, releasing pods
/// that stopped matching), creates missing pods from the template in slow-start batches, deletes the surplus in
/// <see cref="PodRanking.ToDelete"/> order, and writes the status. <see cref="Expectations"/> keep a sync from acting
/// again before the informer has seen its previous creations and deletions.
/// </summary>
public sealed partial class ReplicaSetController : IController
{
    /// <summary>Most pods created or deleted in one sync (upstream's burstReplicas).</summary>
    public const int BurstReplicas = 500;

    const string Component = "replicaset-controller";

    static readonly ApiResource ReplicaSets = Obj.Resource("apps", "replicasets");
    static readonly ApiResource Pods = Obj.Resource("", "pods");

    readonly ControllerContext _ctx;
    readonly Informer _sets;
    readonly Informer _pods;
    readonly WorkQueue _queue;
    readonly Expectations _expectations;

    /// <summary>Registers the controller's handlers on the ReplicaSet and Pod informers.</summary>
    public ReplicaSetController(ControllerContext ctx)
    {
        _ctx = ctx;
        _sets = ctx.Informers.For(ReplicaSets);
        _pods = ctx.Informers.For(Pods);
        var logger = ctx.Logger("ReplicaSet");
        _queue = new WorkQueue(Name, logger, ctx.Clock);
        _expectations = new Expectations(ctx.Clock);
        _sets.OnChange(OnReplicaSet);
        _pods.OnChange(OnPod);
    }

    /// <inheritdoc />
    public string Name => Component;

    /// <inheritdoc />
    public Task RunAsync(CancellationToken ct) => _queue.RunAsync(5, SyncAsync, ct);

    void OnReplicaSet(JsonObject? old, JsonObject? cur)
    {
        if (cur is null)
        {
            _expectations.Forget(Informer.KeyOf(old!));
            _queue.Add(Informer.KeyOf(old!));
            return;
        }
        _queue.Add(Informer.KeyOf(cur));
    }

    /// <summary>The ReplicaSet an owner reference of a pod names, when it is in the cache with that uid.</summary>
    JsonObject? Resolve(string? ns, JsonObject? controllerRef)
    {
        if (controllerRef is null || Obj.Str(controllerRef, "kind") != "ReplicaSet" || Obj.Str(controllerRef, "name") is not { } name) return null;
        var rs = _sets.Get(ns, name);
        return rs is not null && Obj.Uid(rs) == Obj.Str(controllerRef, "uid") ? rs : null;
    }

    void OnPod(JsonObject? old, JsonObject? cur)
    {
        var pod = (cur ?? old)!;
        var ns = Meta.Namespace(pod);
        if (cur is null || (Obj.IsDeleting(cur) && (old is null || !Obj.IsDeleting(old))))
        {
            // A deleted pod, or one that just started terminating: counts as the deletion the owner expected.
            if (Resolve(ns, Obj.ControllerRef(pod)) is { } owner)
            {
                var key = Informer.KeyOf(owner);
                _expectations.DeletionObserved(key, PodRanking.Key(pod));
                if (old is null) _expectations.CreationObserved(key);
                _queue.Add(key);
            }
            return;
        }
        var curRef = Obj.ControllerRef(cur);
        if (old is null)
        {
            if (Resolve(ns, curRef) is { } owner)
            {
                var key = Informer.KeyOf(owner);
                _expectations.CreationObserved(key);
                _queue.Add(key);
            }
            else if (curRef is null) EnqueueMatching(cur);
            return;
        }
        var oldRef = Obj.ControllerRef(old);
        var refChanged = Obj.Str(oldRef, "uid") != Obj.Str(curRef, "uid");
        if (refChanged && Resolve(ns, oldRef) is { } previous) _queue.Add(Informer.KeyOf(previous));
        if (Resolve(ns, curRef) is { } rs)
        {
            var key = Informer.KeyOf(rs);
            _queue.Add(key);
            // An available count that depends on time is looked at again once minReadySeconds have passed.
            var minReady = Obj.Int(rs, 0, "spec", "minReadySeconds");
            if (minReady > 0 && PodState.IsReady(cur) != PodState.IsReady(old)) _queue.AddAfter(key, TimeSpan.FromSeconds(minReady + 1));
            return;
        }
        var labelsChanged = !JsonNode.DeepEquals(Obj.At(old, "metadata", "labels"), Obj.At(cur, "metadata", "labels"));
        if (curRef is null && (labelsChanged || refChanged)) EnqueueMatching(cur);
    }

    /// <summary>Queues the ReplicaSets of the pod's namespace whose selector matches the orphan pod (one may adopt it).</summary>
    void EnqueueMatching(JsonObject pod)
    {
        foreach (var rs in _sets.ByIndex(SharedInformers.ByNamespace, Meta.Namespace(pod) ?? ""))
        {
            var selector = LabelSelector.FromObject(Obj.Object(rs, "spec", "selector"));
            if (!selector.IsEmpty && selector.Matches(Obj.Labels(pod))) _queue.Add(Informer.KeyOf(rs));
        }
    }

    async Task SyncAsync(string key, CancellationToken ct)
    {
        var rs = _sets.Get(key);
        if (rs is null)
        {
            _expectations.Forget(key);
            return;
        }
        var needsSync = _expectations.Satisfied(key);
        var ns = Meta.Namespace(rs)!;
        var selector = LabelSelector.FromObject(Obj.Object(rs, "spec", "selector"));
        var active = _pods.ByIndex(SharedInformers.ByNamespace, ns).Where(PodState.IsActive);
        var pods = await new ControllerRefs(_ctx.Store, rs, ReplicaSets, selector).ClaimAsync(Pods, active, ct);

        ApiException? failure = null;
        int diff = pods.Count - Obj.Int(rs, 1, "spec", "replicas");
        // Upstream's validation refuses a selector that does not select the template's labels; this server stores such
        // objects, and managing one would create pods it never counts, without end.
        var templateLabels = Obj.Object(rs, "spec", "template", "metadata", "labels");
        var selectsTemplate = selector.Matches(k => Obj.Str(templateLabels, k));
        if (needsSync && !Obj.IsDeleting(rs) && !selector.IsEmpty && selectsTemplate)
        {
            try { await ManageReplicasAsync(key, rs, pods, diff, ct); }
            catch (ApiException e) { failure = e; }
        }
        var status = await UpdateStatusAsync(rs, pods, failure, diff, ct);
        var minReady = Obj.Int(rs, 0, "spec", "minReadySeconds");
        if (failure is null && minReady > 0 && Obj.Int(status, 0, "readyReplicas") == Obj.Int(rs, 1, "spec", "replicas")
            && Obj.Int(status, 0, "availableReplicas") != Obj.Int(rs, 1, "spec", "replicas"))
            _queue.AddAfter(key, TimeSpan.FromSeconds(minReady));
        if (failure is not null) throw failure;
    }

    async Task ManageReplicasAsync(string key, JsonObject rs, List<JsonObject> pods, int diff, CancellationToken ct)
    {
        if (diff < 0) await CreatePodsAsync(key, rs, Math.Min(-diff, BurstReplicas), ct);
        else if (diff > 0) await DeletePodsAsync(key, rs, pods, Math.Min(diff, BurstReplicas), ct);
    }
}
