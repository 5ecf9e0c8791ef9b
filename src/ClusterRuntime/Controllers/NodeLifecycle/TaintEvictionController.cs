// Upstream's taint-eviction-controller (the NoExecute taint manager): pods leave nodes whose NoExecute taints they do not tolerate.
using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;
using Appliance.ClusterRuntime.Controllers.Scheduler;

namespace Appliance.ClusterRuntime.Controllers.NodeLifecycle;

/// <summary>
/// For each pod bound to a node with NoExecute taints: a taint it does not tolerate deletes it at once; when it
/// tolerates them all, the smallest <c>tolerationSeconds</c> among the tolerations used (none: forever) counts from
/// the taint's <c>timeAdded</c> (or from when this controller first saw it), and the pod is deleted when that runs
/// out, unless the taint went away first. Before deleting, the pod gets the DisruptionTarget condition and a
/// TaintManagerEviction event, as upstream does.
/// </summary>
public sealed class TaintEvictionController : IController
{
    /// <summary>The event source, as upstream names it.</summary>
    public const string Component = "taint-eviction-controller";

    static readonly ApiResource Pods = Obj.Resource("", "pods");

    readonly ControllerContext _ctx;
    readonly Informer _nodes;
    readonly Informer _pods;
    readonly WorkQueue _queue;
    /// <summary>Pods with an eviction pending: key to the moment it falls due.</summary>
    readonly ConcurrentDictionary<string, DateTimeOffset> _scheduled = new(StringComparer.Ordinal);
    /// <summary>When this controller first saw a (node, taint) without timeAdded.</summary>
    readonly ConcurrentDictionary<string, DateTimeOffset> _firstSeen = new(StringComparer.Ordinal);

    /// <summary>Registers the handlers on the node and pod informers.</summary>
    public TaintEvictionController(ControllerContext ctx)
    {
        _ctx = ctx;
        _queue = new WorkQueue(Name, ctx.Logger("TaintEviction"), ctx.Clock);
        _nodes = ctx.Informers.For(Obj.Resource("", "nodes"));
        _pods = ctx.Informers.For(Pods);
        _pods.OnChange((_, cur) =>
        {
            if (cur is not null && !string.IsNullOrEmpty(Obj.Str(cur, "spec", "nodeName"))) _queue.Add(Informer.KeyOf(cur));
        });
        _nodes.OnChange((old, cur) =>
        {
            if (cur is null || NoExecute(old) == NoExecute(cur)) return;
            foreach (var pod in _pods.ByIndex(SharedInformers.ByNode, Meta.Name(cur)!)) _queue.Add(Informer.KeyOf(pod));
        });
    }

    /// <inheritdoc />
    public string Name => Component;

    /// <inheritdoc />
    public Task RunAsync(CancellationToken ct) => _queue.RunAsync(2, SyncAsync, ct);

    static string NoExecute(JsonObject? node) =>
        string.Join(",", Taint.Of(node).Where(t => t.Effect == "NoExecute").Select(t => $"{t.Key}={t.Value}@{t.TimeAdded}"));

    async Task SyncAsync(string key, CancellationToken ct)
    {
        var pod = _pods.Get(key);
        var nodeName = Obj.Str(pod, "spec", "nodeName");
        if (pod is null || Obj.IsDeleting(pod) || PodState.IsTerminal(pod) || string.IsNullOrEmpty(nodeName))
        {
            _scheduled.TryRemove(key, out _);
            return;
        }
        var taints = Taint.Of(_nodes.Get(nodeName)).Where(t => t.Effect == "NoExecute").ToList();
        var tolerations = Obj.Items(pod, "spec", "tolerations").ToList();
        var now = _ctx.Clock.GetUtcNow();
        DateTimeOffset? due = null;
        foreach (var taint in taints)
        {
            var toleration = taint.FirstToleration(tolerations);
            if (toleration is null)
            {
                due = now;
                break;
            }
            if (Obj.Long(toleration, "tolerationSeconds") is not long seconds) continue; // tolerated forever
            var since = taint.TimeAdded ?? _firstSeen.GetOrAdd($"{nodeName}/{taint.Key}={taint.Value}", now);
            var at = since + TimeSpan.FromSeconds(Math.Max(0, seconds));
            if (due is null || at < due) due = at;
        }
        if (due is null)
        {
            if (_scheduled.TryRemove(key, out _))
                _ctx.Events.Record(pod, EventRecorder.Normal, "TaintManagerEviction", $"Cancelling deletion of Pod {key}", Component);
            return;
        }
        if (due > now)
        {
            _scheduled[key] = due.Value;
            _queue.AddAfter(key, due.Value - now);
            return;
        }
        await EvictAsync(pod, key, ct);
    }

    async Task EvictAsync(JsonObject pod, string key, CancellationToken ct)
    {
        var (ns, name) = Informer.SplitKey(key);
        _scheduled.TryRemove(key, out _);
        _ctx.Events.Record(pod, EventRecorder.Normal, "TaintManagerEviction", $"Marking for deletion Pod {key}", Component);
        var now = Obj.Time(_ctx.Clock.GetUtcNow());
        var uid = Obj.Uid(pod);
        try
        {
            await _ctx.Store.UpdateAsync(Pods, ns, name, cur =>
            {
                if (Obj.Uid(cur) != uid) return cur;
                var status = Obj.Ensure(cur, "status");
                if (status["conditions"] is not JsonArray conditions) status["conditions"] = conditions = [];
                if (conditions.OfType<JsonObject>().Any(c => Obj.Str(c, "type") == "DisruptionTarget")) return cur;
                conditions.Add((JsonNode)new JsonObject
                {
                    ["type"] = "DisruptionTarget", ["status"] = "True", ["lastTransitionTime"] = now,
                    ["reason"] = "DeletionByTaintManager", ["message"] = "Taint manager: deleting due to NoExecute taint",
                });
                return cur;
            }, statusOnly: true, ct);
            await _ctx.Store.DeleteAsync(Pods, ns, name, new DeleteOptions(uid, null, null), ct);
        }
        catch (ApiException e) when (e.Code is 404) { }
    }
}
