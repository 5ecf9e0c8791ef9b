// Upstream's pod-garbage-collector: force-deletes pods that no kubelet will ever finish deleting.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;

namespace Appliance.ClusterRuntime.Controllers.PodGc;

/// <summary>
/// A pod's deletion is finished by the kubelet of its node (a delete with grace 0 once the containers stopped). Pods
/// whose node will never do that are force-deleted here, as upstream's PodGC does: pods bound to a node that does not
/// exist (checked again against the store after a quarantine of <see cref="ControllerOptions.NodeMonitorGracePeriod"/>,
/// upstream's 40 s: a node may be registering), and terminating pods on a node that is not Ready and carries the
/// <c>node.kubernetes.io/out-of-service</c> taint (an operator's statement that the machine is down). Before the
/// delete a pod that has not finished gets phase Failed and the DisruptionTarget condition (DeletionByPodGC).
/// </summary>
public sealed class PodGcController : IController
{
    /// <summary>The component name, as upstream names it.</summary>
    public const string Component = "pod-garbage-collector";

    /// <summary>The taint that says a NotReady node is down for good (upstream's NodeOutOfServiceVolumeDetach).</summary>
    public const string OutOfServiceTaint = "node.kubernetes.io/out-of-service";

    static readonly ApiResource Pods = Obj.Resource("", "pods");
    static readonly ApiResource Nodes = Obj.Resource("", "nodes");

    readonly ControllerContext _ctx;
    readonly Informer _nodes;
    readonly Informer _pods;
    readonly WorkQueue _queue;

    /// <summary>Registers the handlers on the node and pod informers; the work queue is keyed by node name.</summary>
    public PodGcController(ControllerContext ctx)
    {
        _ctx = ctx;
        _queue = new WorkQueue(Name, ctx.Logger("PodGc"), ctx.Clock);
        _nodes = ctx.Informers.For(Nodes);
        _pods = ctx.Informers.For(Pods);
        _pods.OnChange((_, cur) =>
        {
            if (Obj.Str(cur, "spec", "nodeName") is not { Length: > 0 } node) return;
            if (_nodes.Get(node) is null) _queue.AddAfter(node, ctx.Options.NodeMonitorGracePeriod);
            else if (Obj.IsDeleting(cur!)) _queue.Add(node);
        });
        _nodes.OnChange((_, cur) =>
        {
            if (cur is null) return; // a deleted node's pods are queued by their own changes or the resync below
            if (OutOfService(cur)) _queue.Add(Meta.Name(cur)!);
        });
    }

    /// <inheritdoc />
    public string Name => Component;

    /// <inheritdoc />
    public Task RunAsync(CancellationToken ct) => Task.WhenAll(_queue.RunAsync(1, SyncAsync, ct), ResyncAsync(ct));

    /// <summary>Every 20 s (upstream's gcCheckPeriod) each node that has pods is looked at, so a node deleted with its pods unchanged is seen.</summary>
    async Task ResyncAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(20), _ctx.Clock);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
                foreach (var node in _pods.List().Select(p => Obj.Str(p, "spec", "nodeName")).OfType<string>().Where(n => n.Length > 0).Distinct())
                    if (_nodes.Get(node) is null) _queue.AddAfter(node, _ctx.Options.NodeMonitorGracePeriod);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    static bool OutOfService(JsonObject node) =>
        Scheduler.Taint.Of(node).Any(t => t.Key == OutOfServiceTaint && t.Effect is "NoExecute")
        && !Obj.Items(node, "status", "conditions").Any(c => Obj.Str(c, "type") == "Ready" && Obj.Str(c, "status") == "True");

    async Task SyncAsync(string nodeName, CancellationToken ct)
    {
        var pods = _pods.ByIndex(SharedInformers.ByNode, nodeName);
        if (pods.Count == 0) return;
        // The informer may lag behind a node just registered: the store has the last word.
        var (_, node) = await _ctx.Store.TryGetAsync(Nodes, null, nodeName, ct);
        if (node is null)
        {
            foreach (var pod in pods) await ForceDeleteAsync(pod, "PodGC: node no longer exists", ct);
        }
        else if (OutOfService(node))
        {
            foreach (var pod in pods.Where(Obj.IsDeleting)) await ForceDeleteAsync(pod, "PodGC: node is out of service", ct);
        }
    }

    async Task ForceDeleteAsync(JsonObject pod, string message, CancellationToken ct)
    {
        var (ns, name) = (Meta.Namespace(pod), Meta.Name(pod)!);
        var uid = Obj.Uid(pod);
        var now = Obj.Time(_ctx.Clock.GetUtcNow());
        try
        {
            if (!PodState.IsTerminal(pod))
                await _ctx.Store.UpdateAsync(Pods, ns, name, cur =>
                {
                    if (Obj.Uid(cur) != uid || PodState.IsTerminal(cur)) return cur;
                    var status = Obj.Ensure(cur, "status");
                    status["phase"] = "Failed";
                    if (status["conditions"] is not JsonArray conditions) status["conditions"] = conditions = [];
                    if (!conditions.OfType<JsonObject>().Any(c => Obj.Str(c, "type") == "DisruptionTarget"))
                        conditions.Add((JsonNode)new JsonObject
                        {
                            ["type"] = "DisruptionTarget", ["status"] = "True", ["lastTransitionTime"] = now,
                            ["reason"] = "DeletionByPodGC", ["message"] = message,
                        });
                    return cur;
                }, statusOnly: true, ct);
            await _ctx.Store.DeleteAsync(Pods, ns, name, new DeleteOptions(uid, null, null) { GracePeriodSeconds = 0 }, ct);
        }
        catch (ApiException e) when (e.Code is 404 or 409) { }
    }
}
