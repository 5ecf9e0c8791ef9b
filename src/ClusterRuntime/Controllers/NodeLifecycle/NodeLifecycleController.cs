// kube-controller-manager's node lifecycle controller: node health from Leases, condition taints, pods of lost nodes.
using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;
using Appliance.ClusterRuntime.Controllers.Scheduler;

namespace Appliance.ClusterRuntime.Controllers.NodeLifecycle;

/// <summary>
/// A node is alive while its Lease in <c>kube-node-lease</c> (or its Ready heartbeat) changes. Each change is timed
/// on this controller's clock when it is observed, so clock skew between node and server does not matter; a node
/// unheard of for <see cref="ControllerOptions.NodeMonitorGracePeriod"/> gets its conditions set Unknown
/// (NodeStatusUnknown, "Kubelet stopped posting node status.") and the pods on it Ready=False. Every node carries
/// the taints its state implies (TaintNodesByCondition and the NoExecute taints of taint-based eviction):
/// Ready=False: <c>not-ready</c>, Ready=Unknown: <c>unreachable</c> (NoSchedule and NoExecute), cordoned:
/// <c>unschedulable</c> (NoSchedule); they are removed when the state clears.
/// </summary>
public sealed class NodeLifecycleController : IController
{
    /// <summary>The event source, as upstream names it.</summary>
    public const string Component = "node-controller";

    /// <summary>The Lease namespace of node heartbeats.</summary>
    public const string LeaseNamespace = "kube-node-lease";

    static readonly ApiResource Nodes = Obj.Resource("", "nodes");
    static readonly ApiResource Pods = Obj.Resource("", "pods");
    static readonly string[] KubeletConditions = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

    /// <summary>The taints this controller owns (key and effect).</summary>
    static readonly (string Key, string Effect)[] Managed =
    [
        (Defaults.NotReadyTaint, "NoSchedule"), (Defaults.NotReadyTaint, "NoExecute"),
        (Defaults.UnreachableTaint, "NoSchedule"), (Defaults.UnreachableTaint, "NoExecute"),
        (Filters.UnschedulableTaint, "NoSchedule"),
    ];

    /// <summary>When this controller last heard from each node, and the heartbeats it compares.</summary>
    sealed class Health
    {
        public DateTimeOffset Probe;
        public string? Lease;
        public string? ReadyHeartbeat;
        public string? LastReady;
    }

    readonly ControllerContext _ctx;
    readonly Informer _nodes;
    readonly Informer _pods;
    readonly WorkQueue _queue;
    readonly ConcurrentDictionary<string, Health> _health = new(StringComparer.Ordinal);

    /// <summary>Registers the handlers on the node, Lease and pod informers.</summary>
    public NodeLifecycleController(ControllerContext ctx)
    {
        _ctx = ctx;
        _queue = new WorkQueue(Name, ctx.Logger("NodeLifecycle"), ctx.Clock);
        _nodes = ctx.Informers.For(Nodes);
        _pods = ctx.Informers.For(Pods);
        _nodes.OnChange(OnNode);
        ctx.Informers.For(Obj.Resource("coordination.k8s.io", "leases")).OnChange(OnLease);
    }

    /// <inheritdoc />
    public string Name => "node-lifecycle-controller";

    /// <summary>How often every node is checked: upstream's 5 s, shorter when the grace period is short.</summary>
    TimeSpan MonitorPeriod => TimeSpan.FromTicks(Math.Clamp(_ctx.Options.NodeMonitorGracePeriod.Ticks / 8, TimeSpan.FromMilliseconds(200).Ticks, TimeSpan.FromSeconds(5).Ticks));

    /// <inheritdoc />
    public async Task RunAsync(CancellationToken ct)
    {
        var period = MonitorPeriod;
        using var monitor = _ctx.Clock.CreateTimer(_ =>
        {
            foreach (var node in _nodes.List()) _queue.Add(Meta.Name(node)!);
        }, null, period, period);
        await _queue.RunAsync(1, SyncAsync, ct);
    }

    Health HealthOf(string node) => _health.GetOrAdd(node, _ => new Health { Probe = _ctx.Clock.GetUtcNow() });

    void OnNode(JsonObject? old, JsonObject? cur)
    {
        if (cur is null)
        {
            _health.TryRemove(Meta.Name(old!)!, out _);
            return;
        }
        var name = Meta.Name(cur)!;
        var health = HealthOf(name);
        var beat = Obj.Str(ReadyCondition(cur), "lastHeartbeatTime");
        lock (health)
        {
            if (beat is not null && beat != health.ReadyHeartbeat)
            {
                health.ReadyHeartbeat = beat;
                health.Probe = _ctx.Clock.GetUtcNow();
            }
        }
        _queue.Add(name);
    }

    void OnLease(JsonObject? old, JsonObject? cur)
    {
        if (cur is null || Meta.Namespace(cur) != LeaseNamespace) return;
        var name = Meta.Name(cur)!;
        var renew = Obj.Str(cur, "spec", "renewTime") + "|" + Obj.Str(cur, "spec", "holderIdentity");
        var health = HealthOf(name);
        lock (health)
        {
            if (renew == health.Lease) return;
            health.Lease = renew;
            health.Probe = _ctx.Clock.GetUtcNow();
        }
        _queue.Add(name);
    }

    /// <summary>Upstream's <c>--node-startup-grace-period</c>.</summary>
    static readonly TimeSpan StartupGracePeriod = TimeSpan.FromMinutes(1);

    static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    static JsonObject? ReadyCondition(JsonObject? node) =>
        Obj.Items(node, "status", "conditions").FirstOrDefault(c => Obj.Str(c, "type") == "Ready");

    async Task SyncAsync(string name, CancellationToken ct)
    {
        var node = _nodes.Get(name);
        if (node is null) return;
        var health = HealthOf(name);
        DateTimeOffset probe;
        lock (health) probe = health.Probe;
        var now = _ctx.Clock.GetUtcNow();
        // A node that never posted Ready gets upstream's startup grace (1 min), as a booting kubelet needs longer.
        var grace = ReadyCondition(node) is null ? Max(_ctx.Options.NodeMonitorGracePeriod, StartupGracePeriod) : _ctx.Options.NodeMonitorGracePeriod;
        if (now - probe > grace && Obj.Str(ReadyCondition(node), "status") != "Unknown")
            node = await MarkUnknownAsync(name, ct);
        var ready = Obj.Str(ReadyCondition(node), "status") ?? "Unknown";
        string? last;
        lock (health)
        {
            last = health.LastReady;
            health.LastReady = ready;
        }
        if (last is not null && last != ready)
        {
            if (ready == "True") _ctx.Events.Record(node, EventRecorder.Normal, "NodeReady", $"Node {name} status is now: NodeReady", Component);
            else if (last == "True") _ctx.Events.Record(node, EventRecorder.Normal, "NodeNotReady", $"Node {name} status is now: NodeNotReady", Component);
        }
        await ReconcileTaintsAsync(node, ct);
        // A silent node's pods are not ready (nothing reports on them); a node that went NotReady under its kubelet's eyes once.
        if (ready == "Unknown" || (ready == "False" && last == "True")) await MarkPodsNotReadyAsync(name, ct);
    }

    /// <summary>Sets the kubelet's conditions Unknown, keeping their last heartbeat.</summary>
    async Task<JsonObject> MarkUnknownAsync(string name, CancellationToken ct)
    {
        var now = Obj.Time(_ctx.Clock.GetUtcNow());
        return await _ctx.Store.UpdateAsync(Nodes, null, name, node =>
        {
            var status = Obj.Ensure(node, "status");
            if (status["conditions"] is not JsonArray conditions) status["conditions"] = conditions = [];
            foreach (var type in KubeletConditions)
            {
                var c = conditions.OfType<JsonObject>().FirstOrDefault(x => Obj.Str(x, "type") == type);
                if (c is null)
                {
                    conditions.Add((JsonNode)new JsonObject
                    {
                        ["type"] = type, ["status"] = "Unknown", ["lastHeartbeatTime"] = Obj.Str(node, "metadata", "creationTimestamp"),
                        ["lastTransitionTime"] = now, ["reason"] = "NodeStatusNeverUpdated", ["message"] = "Kubelet never posted node status.",
                    });
                    continue;
                }
                if (Obj.Str(c, "status") == "Unknown") continue;
                c["status"] = "Unknown";
                c["reason"] = "NodeStatusUnknown";
                c["message"] = "Kubelet stopped posting node status.";
                c["lastTransitionTime"] = now;
            }
            return node;
        }, statusOnly: true, ct);
    }

    /// <summary>The taints a node in this state must carry among those this controller manages.</summary>
    static List<(string Key, string Effect)> Wanted(JsonObject node)
    {
        var wanted = new List<(string, string)>();
        switch (Obj.Str(ReadyCondition(node), "status"))
        {
            case "False":
                wanted.Add((Defaults.NotReadyTaint, "NoSchedule"));
                wanted.Add((Defaults.NotReadyTaint, "NoExecute"));
                break;
            case "Unknown":
                wanted.Add((Defaults.UnreachableTaint, "NoSchedule"));
                wanted.Add((Defaults.UnreachableTaint, "NoExecute"));
                break;
        }
        if (Obj.Bool(node, "spec", "unschedulable") == true) wanted.Add((Filters.UnschedulableTaint, "NoSchedule"));
        return wanted;
    }

    static bool TaintsMatch(JsonObject node)
    {
        var wanted = Wanted(node);
        var present = Taint.Of(node).Select(t => (t.Key, t.Effect)).Where(Managed.Contains).ToHashSet();
        return present.SetEquals(wanted);
    }

    async Task ReconcileTaintsAsync(JsonObject node, CancellationToken ct)
    {
        if (TaintsMatch(node)) return;
        var now = Obj.Time(_ctx.Clock.GetUtcNow());
        await _ctx.Store.UpdateAsync(Nodes, null, Meta.Name(node)!, cur =>
        {
            if (TaintsMatch(cur)) return cur;
            var wanted = Wanted(cur);
            var taints = Obj.Items(cur, "spec", "taints")
                .Where(t => !Managed.Contains((Obj.Str(t, "key") ?? "", Obj.Str(t, "effect") ?? "")) || wanted.Contains((Obj.Str(t, "key")!, Obj.Str(t, "effect")!)))
                .Select(t => t.DeepClone()).ToList();
            foreach (var (key, effect) in wanted)
            {
                if (taints.OfType<JsonObject>().Any(t => Obj.Str(t, "key") == key && Obj.Str(t, "effect") == effect)) continue;
                var taint = new JsonObject { ["key"] = key, ["effect"] = effect };
                if (effect == "NoExecute") taint["timeAdded"] = now;
                taints.Add(taint);
            }
            var spec = Obj.Ensure(cur, "spec");
            if (taints.Count == 0) spec.Remove("taints");
            else spec["taints"] = new JsonArray([.. taints]);
            return cur;
        }, statusOnly: false, ct);
    }

    /// <summary>Upstream's MarkPodsNotReady: the Ready condition of every pod on the node goes False.</summary>
    async Task MarkPodsNotReadyAsync(string node, CancellationToken ct)
    {
        var now = Obj.Time(_ctx.Clock.GetUtcNow());
        foreach (var pod in _pods.ByIndex(SharedInformers.ByNode, node))
        {
            var ready = PodState.ReadyCondition(pod);
            if (ready is null || Obj.Str(ready, "status") == "False" || PodState.IsTerminal(pod)) continue;
            try
            {
                await _ctx.Store.UpdateAsync(Pods, Meta.Namespace(pod), Meta.Name(pod)!, cur =>
                {
                    var c = PodState.ReadyCondition(cur);
                    if (c is null || Obj.Str(c, "status") == "False") return cur;
                    c["status"] = "False";
                    c["lastTransitionTime"] = now;
                    return cur;
                }, statusOnly: true, ct);
                _ctx.Events.Record(pod, EventRecorder.Warning, "NodeNotReady", "Node is not ready", Component);
            }
            catch (ApiException e) when (e.Code == 404) { }
        }
    }
}
