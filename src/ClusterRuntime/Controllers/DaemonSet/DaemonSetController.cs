// The DaemonSet controller: one pod per eligible node, rolling updates, ControllerRevision history and status.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.History;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.DaemonSet;

/// <summary>
/// kube-controller-manager's daemonset controller: a sync of one DaemonSet ensures the revision of its template,
/// starts a pod for every node that should run one and has none, removes pods from nodes that no longer fit,
/// rolls old pods over to the new template (RollingUpdate; OnDelete leaves that to the user), trims the revision
/// history and writes the status. See README.md.
/// </summary>
public sealed class DaemonSetController : IController
{
    const string Component = "daemonset-controller";
    static readonly ApiResource DaemonSets = Obj.Resource("apps", "daemonsets");
    static readonly ApiResource Pods = Obj.Resource("", "pods");

    readonly ControllerContext _ctx;
    readonly Informer _daemonSets, _pods, _nodes;
    readonly ControllerHistory _history;
    readonly WorkQueue _queue;
    readonly ILogger _logger;
    readonly Dictionary<string, (TimeSpan Delay, DateTimeOffset Until)> _failedBackoff = new(StringComparer.Ordinal);
    static readonly TimeSpan MaxFailedBackoff = TimeSpan.FromMinutes(15);

    /// <summary>Asks for the informers and registers the handlers.</summary>
    public DaemonSetController(ControllerContext ctx)
    {
        _ctx = ctx;
        _logger = ctx.Logger("DaemonSet");
        _queue = new WorkQueue(Name, _logger, ctx.Clock);
        _daemonSets = ctx.Informers.For(DaemonSets);
        _pods = ctx.Informers.For(Pods);
        _nodes = ctx.Informers.For("", "nodes");
        _history = new ControllerHistory(ctx, DaemonSets, ControllerHistory.PodRevisionLabel);
        _daemonSets.OnChange((_, cur) => { if (cur is not null) _queue.Add(Informer.KeyOf(cur)); });
        _pods.OnChange((old, cur) => { QueueOwner(old); QueueOwner(cur); QueueAdopters(cur); });
        _history.Informer.OnChange((old, cur) => QueueOwner(cur ?? old));
        _nodes.OnChange((old, cur) =>
        {
            if (old is not null && cur is not null && SameForPlacement(old, cur)) return;
            foreach (var ds in _daemonSets.List()) _queue.Add(Informer.KeyOf(ds));
        });
    }

    /// <inheritdoc />
    public string Name => Component;

    /// <inheritdoc />
    public Task RunAsync(CancellationToken ct) => _queue.RunAsync(2, SyncAsync, ct);

    void QueueOwner(JsonObject? obj)
    {
        if (obj is null || Obj.ControllerRef(obj) is not { } owner || Obj.Str(owner, "kind") != "DaemonSet") return;
        _queue.Add(Informer.KeyOf(Meta.Namespace(obj), Obj.Str(owner, "name") ?? ""));
    }

    void QueueAdopters(JsonObject? pod)
    {
        if (pod is null || Obj.ControllerRef(pod) is not null) return;
        foreach (var ds in _daemonSets.ByIndex(SharedInformers.ByNamespace, Meta.Namespace(pod) ?? ""))
            if (ControllerRefs.IsOrphanFor(pod, ds)) _queue.Add(Informer.KeyOf(ds));
    }

    static bool SameForPlacement(JsonObject a, JsonObject b) =>
        JsonNode.DeepEquals(Obj.At(a, "metadata", "labels"), Obj.At(b, "metadata", "labels"))
        && JsonNode.DeepEquals(Obj.At(a, "spec", "taints"), Obj.At(b, "spec", "taints"));

    async Task SyncAsync(string key, CancellationToken ct)
    {
        var ds = _daemonSets.Get(key);
        if (ds is null || Obj.IsDeleting(ds)) return;
        var selector = Obj.Object(ds, "spec", "selector");
        if (selector is null || (Obj.Object(selector, "matchLabels") is not { Count: > 0 } && Obj.At(selector, "matchExpressions") is not JsonArray { Count: > 0 }))
        {
            _ctx.Events.Record(ds, EventRecorder.Warning, "SelectingAll", "This daemon set is selecting all pods. A non-empty selector is required.", Component);
            return;
        }
        await new ControllerRefs(_ctx.Store, ds, DaemonSets, LabelSelector.FromObject(selector), cache: _pods)
            .ClaimAsync(Pods, _pods.ByIndex(SharedInformers.ByNamespace, Meta.Namespace(ds) ?? ""), ct);
        await _history.AdoptAsync(ds, ct);
        var (current, revisions, collisions) = await _history.EnsureCurrentAsync(ds, ct);
        var hash = _history.HashOf(current);
        var nodes = _nodes.List();

        var plan = Plan(ds, nodes, hash);
        var (create, delete, failed) = plan.Manage();
        foreach (var pod in failed)
        {
            if (InBackoff(ds, DaemonPods.TargetNode(pod) ?? "", key)) continue;
            _ctx.Events.Record(ds, EventRecorder.Warning, "FailedDaemonPod",
                $"Found failed daemon pod {Meta.Namespace(pod)}/{Meta.Name(pod)} on node {DaemonPods.TargetNode(pod)}, will try to kill it", Component);
            delete.Add(pod);
        }
        var wrote = await ApplyAsync(ds, create, delete, hash, ct);

        if (!wrote && plan.Strategy == "RollingUpdate")
        {
            var (surge, old) = plan.RollingUpdate();
            await ApplyAsync(ds, surge, old, hash, ct);
        }

        plan = Plan(ds, nodes, hash);
        var liveHashes = plan.ByNode.Values.SelectMany(p => p).Select(p => Meta.Label(p, ControllerHistory.PodRevisionLabel)).ToHashSet();
        await _history.TruncateAsync(ds, revisions, r => r == current || liveHashes.Contains(_history.HashOf(r)), ct);

        var now = _ctx.Clock.GetUtcNow();
        var (status, recheck) = DaemonSetStatus.Compute(ds, nodes, plan, hash, collisions, now);
        await _ctx.Store.UpdateAsync(DaemonSets, Meta.Namespace(ds), Meta.Name(ds)!, cur =>
        {
            if (Obj.At(cur, "status", "conditions") is JsonArray conditions) status["conditions"] = conditions.DeepClone();
            cur["status"] = status;
            return cur;
        }, statusOnly: true, ct);
        if (recheck is { } at) _queue.AddAfter(key, at - now + TimeSpan.FromMilliseconds(100));
    }

    /// <summary>
    /// Upstream's failed-pod back-off per DaemonSet and node (1 s doubling to 15 min), so a node whose kubelet keeps
    /// failing the pod is not hot-looped: true while waiting (the DaemonSet is queued for the end of it); otherwise
    /// starts the next back-off period and returns false.
    /// </summary>
    bool InBackoff(JsonObject ds, string node, string key)
    {
        var id = Obj.Uid(ds) + "/" + node;
        var now = _ctx.Clock.GetUtcNow();
        lock (_failedBackoff)
        {
            if (_failedBackoff.TryGetValue(id, out var b) && now < b.Until)
            {
                _queue.AddAfter(key, b.Until - now);
                return true;
            }
            var delay = b.Delay == TimeSpan.Zero || now - b.Until > MaxFailedBackoff * 2 ? TimeSpan.FromSeconds(1)
                : TimeSpan.FromTicks(Math.Min(MaxFailedBackoff.Ticks, b.Delay.Ticks * 2));
            _failedBackoff[id] = (delay, now + delay);
            return false;
        }
    }

    DaemonSetPlan Plan(JsonObject ds, List<JsonObject> nodes, string hash)
    {
        var uid = Obj.Uid(ds);
        var pods = _pods.ByIndex(SharedInformers.ByOwner, uid).Where(p => Obj.IsControlledBy(p, uid)).ToList();
        return new DaemonSetPlan(ds, nodes, pods, hash, _ctx.Clock.GetUtcNow());
    }

    /// <summary>Creates and deletes pods (a few at a time), records events, and waits until the cache shows it. True when it wrote.</summary>
    async Task<bool> ApplyAsync(JsonObject ds, List<string> create, List<JsonObject> delete, string hash, CancellationToken ct)
    {
        if (create.Count == 0 && delete.Count == 0) return false;
        var ns = Meta.Namespace(ds);
        using var gate = new SemaphoreSlim(8);
        Exception? failure = null;
        async Task Limited(Func<Task> work)
        {
            await gate.WaitAsync(ct);
            try { await work(); }
            catch (Exception e) when (e is not OperationCanceledException) { failure ??= e; }
            finally { gate.Release(); }
        }
        var work = create.Distinct().Select(node => Limited(async () =>
        {
            try
            {
                var pod = await _ctx.Store.CreateAsync(Pods, ns, DaemonPods.NewPod(ds, DaemonSets, node, hash), ct);
                _ctx.Events.Record(ds, EventRecorder.Normal, "SuccessfulCreate", $"Created pod: {Meta.Name(pod)}", Component);
                await CacheSync.SeenAsync(_pods, pod, ct);
            }
            catch (ApiException e)
            {
                _ctx.Events.Record(ds, EventRecorder.Warning, "FailedCreate", $"Error creating: {e.Message}", Component);
                throw;
            }
        })).Concat(delete.DistinctBy(Obj.Uid).Select(pod => Limited(async () =>
        {
            var name = Meta.Name(pod)!;
            try
            {
                await _ctx.Store.DeleteAsync(Pods, ns, name, new DeleteOptions(Obj.Uid(pod), null, null), ct);
                _ctx.Events.Record(ds, EventRecorder.Normal, "SuccessfulDelete", $"Deleted pod: {name}", Component);
            }
            catch (ApiException e) when (e.Code is 404 or 409) { }
            await CacheSync.GoneAsync(_pods, Informer.KeyOf(ns, name), Obj.Uid(pod), ct);
        })));
        await Task.WhenAll(work);
        if (failure is not null) throw failure;
        return true;
    }
}
