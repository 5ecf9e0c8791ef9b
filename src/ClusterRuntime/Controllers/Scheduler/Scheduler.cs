// kube-scheduler's default profile, reduced to the filters and scores an edge cluster uses, run in the server.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.Scheduler;

/// <summary>
/// Places pending pods of <c>default-scheduler</c> one at a time from the <see cref="SchedulingQueue"/>: filters every
/// node (<see cref="Filters"/>), prefers the node with the fewest pods of the same owner, then the least allocated
/// one, assumes the pod there in the <see cref="NodeCache"/> and writes the binding in the background (up to
/// <see cref="MaxBindsInFlight"/> at once) through the same code as <c>POST pods/NAME/binding</c>. A pod that fits
/// nowhere gets PodScheduled=False/Unschedulable and a FailedScheduling event, and is parked until nodes or pods change.
/// </summary>
public sealed class Scheduler : IController
{
    /// <summary>The scheduler name pods ask for, and the source of its events.</summary>
    public const string SchedulerName = "default-scheduler";

    /// <summary>Bindings written concurrently.</summary>
    public const int MaxBindsInFlight = 16;

    static readonly ApiResource Pods = Obj.Resource("", "pods");
    static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(30);

    readonly ControllerContext _ctx;
    readonly Informer _pods;
    readonly Informer _nodes;
    readonly NodeCache _cache = new();
    readonly SchedulingQueue _queue;
    readonly SemaphoreSlim _binds = new(MaxBindsInFlight);
    readonly ILogger _logger;

    /// <summary>Registers the scheduler's handlers on the pod and node informers.</summary>
    public Scheduler(ControllerContext ctx)
    {
        _ctx = ctx;
        _logger = ctx.Logger("Scheduler");
        _queue = new SchedulingQueue(ctx.Clock);
        _pods = ctx.Informers.For(Pods);
        _nodes = ctx.Informers.For(Obj.Resource("", "nodes"));
        _pods.OnChange(OnPod);
        _nodes.OnChange(OnNode);
    }

    /// <inheritdoc />
    public string Name => SchedulerName;

    /// <inheritdoc />
    public async Task RunAsync(CancellationToken ct)
    {
        using var flush = _ctx.Clock.CreateTimer(_ => _queue.FlushParked(), null, FlushInterval, FlushInterval);
        while (!ct.IsCancellationRequested)
        {
            string key;
            long cycle;
            try { (key, cycle) = await _queue.PopAsync(ct); }
            catch (OperationCanceledException) { break; }
            try { await ScheduleOneAsync(key, cycle, ct); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
            catch (Exception e)
            {
                _logger.LogWarning(e, "scheduling {Pod} failed; retrying", key);
                _queue.Retry(key);
            }
        }
        // Let bindings under way finish writing (they stop at cancellation).
        for (int i = 0; i < MaxBindsInFlight; i++) await _binds.WaitAsync(CancellationToken.None);
    }

    void OnPod(JsonObject? old, JsonObject? cur)
    {
        lock (_cache.Gate) _cache.OnPod(old, cur);
        var key = Informer.KeyOf((cur ?? old)!);
        if (cur is not null && PodFacts.NeedsScheduling(cur))
        {
            // A parked pod is retried when its spec changes (the store bumps generation), not on status writes.
            if (_queue.IsParked(key) && Obj.Long(old, "metadata", "generation") == Obj.Long(cur, "metadata", "generation")) return;
            _queue.Add(key, Obj.Int(cur, 0, "spec", "priority"), Obj.Time(cur, "metadata", "creationTimestamp") ?? DateTimeOffset.MinValue);
            return;
        }
        _queue.Remove(key);
        // A pod that leaves a node (deleted or finished) frees room for parked ones.
        var wasPlaced = old is not null && !string.IsNullOrEmpty(Obj.Str(old, "spec", "nodeName")) && !PodState.IsTerminal(old);
        var isPlaced = cur is not null && !string.IsNullOrEmpty(Obj.Str(cur, "spec", "nodeName")) && !PodState.IsTerminal(cur);
        if (wasPlaced && !isPlaced) _queue.MoveAllToActive();
    }

    void OnNode(JsonObject? old, JsonObject? cur)
    {
        lock (_cache.Gate)
        {
            if (cur is null) _cache.RemoveNode(Meta.Name(old!)!);
            else _cache.SetNode(cur);
        }
        if (cur is not null && (old is null || Fingerprint(old) != Fingerprint(cur))) _queue.MoveAllToActive();
    }

    /// <summary>What of a node can change where pods fit (not its heartbeats).</summary>
    static string Fingerprint(JsonObject node) => string.Join("\n",
        Obj.At(node, "metadata", "labels")?.ToJsonString(), Obj.At(node, "spec", "taints")?.ToJsonString(),
        Obj.Bool(node, "spec", "unschedulable"), Obj.At(node, "status", "allocatable")?.ToJsonString(),
        Obj.Items(node, "status", "conditions").FirstOrDefault(c => Obj.Str(c, "type") == "Ready") is { } r ? Obj.Str(r, "status") : null);

    async Task ScheduleOneAsync(string key, long cycle, CancellationToken ct)
    {
        var pod = _pods.Get(key);
        if (pod is null || !PodFacts.NeedsScheduling(pod)) return;
        var facts = PodFacts.Of(pod);
        string? chosen = null;
        string? failure = null;
        lock (_cache.Gate)
        {
            if (_cache.IsAssumed(key)) return; // its binding is being written
            var nodes = _cache.Nodes.ToList();
            var misfits = new Dictionary<string, Misfit>(StringComparer.Ordinal);
            var feasible = new List<NodeInfo>();
            foreach (var node in nodes)
            {
                if (Filters.Check(facts, node) is { } misfit) misfits[node.Name] = misfit;
                else feasible.Add(node);
            }
            if (feasible.Count > 0)
            {
                chosen = Best(facts, feasible).Name;
                _cache.Assume(facts, chosen);
            }
            else failure = nodes.Count == 0 ? FitError.NoNodes : FitError.Message(facts, nodes, misfits);
        }
        await _binds.WaitAsync(ct);
        if (chosen is not null) _ = Task.Run(() => BindAsync(facts, chosen, ct), CancellationToken.None);
        else
        {
            _queue.Park(key, cycle);
            _ = Task.Run(() => ReportUnschedulableAsync(pod, failure!, ct), CancellationToken.None);
        }
    }

    /// <summary>Fewest pods of the same owner first (spreading replicas), then the most free cpu and memory; ties at random.</summary>
    static NodeInfo Best(PodFacts pod, List<NodeInfo> feasible)
    {
        var ranked = feasible
            .Select(n => (Node: n, Owned: pod.OwnerUid is { } o ? n.OwnerCounts.GetValueOrDefault(o) : 0, Score: LeastAllocated(pod, n)))
            .ToList();
        var fewest = ranked.Min(r => r.Owned);
        var best = ranked.Where(r => r.Owned == fewest).Max(r => r.Score);
        var top = ranked.Where(r => r.Owned == fewest && r.Score == best).ToList();
        return top[Random.Shared.Next(top.Count)].Node;
    }

    /// <summary>Upstream's LeastAllocated score (0-100): the mean free share of cpu and memory after placing the pod.</summary>
    static long LeastAllocated(PodFacts pod, NodeInfo node)
    {
        long Free(string resource)
        {
            var capacity = node.Allocatable.GetValueOrDefault(resource);
            var used = node.NonZeroRequested.GetValueOrDefault(resource) + pod.NonZero.GetValueOrDefault(resource);
            return capacity <= 0 || used > capacity ? 0 : (long)((capacity - used) * 100m / capacity);
        }
        return (Free("cpu") + Free("memory")) / 2;
    }

    async Task BindAsync(PodFacts pod, string node, CancellationToken ct)
    {
        var (ns, name) = Informer.SplitKey(pod.Key);
        try
        {
            await PodBinding.BindAsync(_ctx.Store, ns!, name, node, ct);
            _ctx.Events.Record(pod.Pod, EventRecorder.Normal, "Scheduled", $"Successfully assigned {ns}/{name} to {node}", SchedulerName);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            lock (_cache.Gate) _cache.Forget(pod.Key);
        }
        catch (ApiException e) when (e.Code is 404 or 409)
        {
            // Deleted, or bound by someone else meanwhile: the informer brings the truth (a retry of a pod it shows
            // bound or gone does nothing).
            lock (_cache.Gate) _cache.Forget(pod.Key);
            _logger.LogDebug("binding {Pod} to {Node}: {Error}", pod.Key, node, e.Message);
            if (e.Code == 409) _queue.Retry(pod.Key);
        }
        catch (Exception e)
        {
            lock (_cache.Gate) _cache.Forget(pod.Key);
            _logger.LogWarning("binding {Pod} to {Node} failed: {Error}; retrying", pod.Key, node, e.Message);
            _queue.Retry(pod.Key);
        }
        finally
        {
            _binds.Release();
        }
    }

    /// <summary>PodScheduled=False/Unschedulable with the message (written only when it changes) and a FailedScheduling event.</summary>
    async Task ReportUnschedulableAsync(JsonObject pod, string message, CancellationToken ct)
    {
        var (ns, name) = (Meta.Namespace(pod)!, Meta.Name(pod)!);
        try
        {
            _ctx.Events.Record(pod, EventRecorder.Warning, "FailedScheduling", message, SchedulerName);
            var cond = Obj.Items(pod, "status", "conditions").FirstOrDefault(c => Obj.Str(c, "type") == "PodScheduled");
            if (Obj.Str(cond, "status") == "False" && Obj.Str(cond, "reason") == "Unschedulable" && Obj.Str(cond, "message") == message) return;
            var now = Obj.Time(_ctx.Clock.GetUtcNow());
            await _ctx.Store.UpdateAsync(Pods, ns, name, cur =>
            {
                if (!string.IsNullOrEmpty(Obj.Str(cur, "spec", "nodeName"))) return cur;
                if (Obj.Str(cur, "metadata", "uid") != Obj.Uid(pod)) return cur;
                var status = Obj.Ensure(cur, "status");
                if (status["conditions"] is not JsonArray conditions) status["conditions"] = conditions = [];
                var c = conditions.OfType<JsonObject>().FirstOrDefault(x => Obj.Str(x, "type") == "PodScheduled");
                if (c is null) conditions.Add((JsonNode)(c = new JsonObject { ["type"] = "PodScheduled" }));
                if (Obj.Str(c, "status") != "False") c["lastTransitionTime"] = now;
                c["status"] = "False";
                c["lastProbeTime"] = null;
                c["reason"] = "Unschedulable";
                c["message"] = message;
                return cur;
            }, statusOnly: true, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        catch (ApiException e) when (e.Code is 404 or 409) { }
        catch (Exception e) { _logger.LogWarning("recording why {Pod} is unschedulable failed: {Error}", ns + "/" + name, e.Message); }
        finally { _binds.Release(); }
    }
}
