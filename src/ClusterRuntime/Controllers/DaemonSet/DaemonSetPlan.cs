// What one DaemonSet sync decides from the cache: pods to create and delete per node, for placement and for rollout.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;

namespace Appliance.ClusterRuntime.Controllers.DaemonSet;

/// <summary>Pure decisions of the DaemonSet controller (upstream's <c>podsShouldBeOnNode</c>, <c>rollingUpdate</c>).</summary>
public sealed class DaemonSetPlan(JsonObject ds, IReadOnlyList<JsonObject> nodes, IReadOnlyList<JsonObject> pods, string hash, DateTimeOffset now)
{
    readonly int _minReady = Obj.Int(ds, 0, "spec", "minReadySeconds");

    /// <summary>The DaemonSet's pods grouped by the node they are meant for (pods for no node under "").</summary>
    public Dictionary<string, List<JsonObject>> ByNode { get; } = pods
        .GroupBy(p => DaemonPods.TargetNode(p) ?? "", StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.OrderBy(p => p, Oldest).ToList(), StringComparer.Ordinal);

    /// <summary>Scheduled pods first, then by creation time, then name (upstream's <c>podByCreationTimestampAndPhase</c>).</summary>
    public static readonly Comparer<JsonObject> Oldest = Comparer<JsonObject>.Create((a, b) =>
    {
        var sa = !string.IsNullOrEmpty(Obj.Str(a, "spec", "nodeName"));
        var sb = !string.IsNullOrEmpty(Obj.Str(b, "spec", "nodeName"));
        if (sa != sb) return sa ? -1 : 1;
        var byTime = string.CompareOrdinal(Meta.Str(a, "creationTimestamp"), Meta.Str(b, "creationTimestamp"));
        return byTime != 0 ? byTime : string.CompareOrdinal(Meta.Name(a), Meta.Name(b));
    });

    /// <summary>True when the update strategy allows a second pod per node during an update.</summary>
    public bool AllowsSurge => Strategy == "RollingUpdate" && Surge(1) > 0;

    /// <summary><c>spec.updateStrategy.type</c> (RollingUpdate when unset).</summary>
    public string Strategy => Obj.Str(ds, "spec", "updateStrategy", "type") ?? "RollingUpdate";

    /// <summary>Placement: nodes that need a pod, pods to delete, and Failed pods to delete once their node's back-off allows.</summary>
    public (List<string> Create, List<JsonObject> Delete, List<JsonObject> Failed) Manage()
    {
        var create = new List<string>();
        var delete = new List<JsonObject>();
        var failed = new List<JsonObject>();
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            var name = Meta.Name(node)!;
            known.Add(name);
            var (shouldRun, shouldContinue) = DaemonPods.Fit(node, ds);
            var onNode = ByNode.GetValueOrDefault(name) ?? [];
            var live = onNode.Where(p => !PodState.IsTerminating(p)).ToList();
            if (shouldRun && onNode.Count == 0) create.Add(name);
            else if (shouldContinue) ManageNode(name, shouldRun, live, create, delete, failed);
            else delete.AddRange(live);
        }
        // Pods for a node that is gone: unscheduled ones as upstream, and (as the pod GC would) bound ones too.
        foreach (var (node, onNode) in ByNode)
            if (!known.Contains(node)) delete.AddRange(onNode.Where(p => !PodState.IsTerminating(p)));
        return (create, delete, failed);
    }

    void ManageNode(string node, bool shouldRun, List<JsonObject> live, List<string> create, List<JsonObject> delete, List<JsonObject> failed)
    {
        var running = new List<JsonObject>();
        foreach (var pod in live)
        {
            if (PodState.Phase(pod) == "Failed") failed.Add(pod); // deleted by the controller, with back-off
            else if (PodState.IsTerminal(pod)) delete.Add(pod);
            else running.Add(pod);
        }
        if (!AllowsSurge)
        {
            delete.AddRange(running.Skip(1)); // keep the oldest
            return;
        }
        if (running.Count <= 1)
        {
            if (running.Count == 0 && shouldRun) create.Add(node);
            return;
        }
        // With surge two pods may share a node: the oldest updated one and the oldest old one, while the new one is not available.
        JsonObject? oldestNew = null, oldestOld = null;
        foreach (var pod in running)
        {
            if (DaemonPods.IsUpdated(pod, ds, hash)) { if (oldestNew is null) { oldestNew = pod; continue; } }
            else if (oldestOld is null) { oldestOld = pod; continue; }
            delete.Add(pod);
        }
        if (oldestNew is not null && oldestOld is not null
            && (!PodState.IsReady(oldestOld) || PodState.IsAvailable(oldestNew, _minReady, now)))
            delete.Add(oldestOld);
    }

    /// <summary>The nodes that should run a pod (<c>desiredNumberScheduled</c>).</summary>
    public int Desired => nodes.Count(n => DaemonPods.Fit(n, ds).ShouldRun);

    int Surge(int desired) => Scaled(Obj.At(ds, "spec", "updateStrategy", "rollingUpdate", "maxSurge"), desired, 0);

    /// <summary>An int-or-percent of <paramref name="total"/>, rounded up (upstream's <c>GetScaledValueFromIntOrPercent(..., true)</c>).</summary>
    public static int Scaled(JsonNode? value, int total, int fallback)
    {
        if (value is not JsonValue v) return fallback;
        if (v.TryGetValue<int>(out var i)) return i;
        if (!v.TryGetValue<string>(out var s)) return fallback;
        if (s.EndsWith('%') && int.TryParse(s[..^1], out var pct)) return (int)Math.Ceiling(pct * total / 100.0);
        return int.TryParse(s, out var n) ? n : fallback;
    }

    static (JsonObject? New, JsonObject? Old, bool Ok) NewAndOld(List<JsonObject> onNode, JsonObject ds, string hash)
    {
        JsonObject? newPod = null, oldPod = null;
        foreach (var pod in onNode.Where(p => !PodState.IsTerminating(p)))
        {
            if (DaemonPods.IsUpdated(pod, ds, hash))
            {
                if (newPod is not null) return (null, null, false);
                newPod = pod;
            }
            else
            {
                if (oldPod is not null) return (null, null, false);
                oldPod = pod;
            }
        }
        return (newPod, oldPod, true);
    }

    /// <summary>
    /// Rolling update: without surge, delete old pods while at most maxUnavailable pods are unavailable (placement
    /// then creates the new ones); with surge, start new pods beside old ones (at most maxSurge at a time) and delete
    /// an old pod once its replacement is available.
    /// </summary>
    public (List<string> Create, List<JsonObject> Delete) RollingUpdate()
    {
        var desired = Desired;
        var maxSurge = Surge(desired);
        var maxUnavailable = Scaled(Obj.At(ds, "spec", "updateStrategy", "rollingUpdate", "maxUnavailable"), desired, 1);
        if (desired > 0 && maxSurge == 0 && maxUnavailable == 0) maxUnavailable = 1;
        var nodesByName = nodes.ToDictionary(n => Meta.Name(n)!, StringComparer.Ordinal);
        var delete = new List<JsonObject>();
        var create = new List<string>();
        if (maxSurge == 0)
        {
            var unavailable = 0;
            var candidates = new List<JsonObject>();
            foreach (var (_, onNode) in ByNode.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                var (newPod, oldPod, ok) = NewAndOld(onNode, ds, hash);
                if (!ok || (newPod is null) == (oldPod is null)) { unavailable++; continue; }
                if (newPod is not null) { if (!PodState.IsAvailable(newPod, _minReady, now)) unavailable++; continue; }
                if (!PodState.IsAvailable(oldPod!, _minReady, now)) { delete.Add(oldPod!); unavailable++; }
                else if (unavailable < maxUnavailable) candidates.Add(oldPod!);
            }
            delete.AddRange(candidates.Take(Math.Clamp(maxUnavailable - unavailable, 0, candidates.Count)));
            return (create, delete);
        }
        var surging = 0;
        var available = 0;
        var surgeCandidates = new List<string>();
        var misplaced = new List<JsonObject>();
        foreach (var (nodeName, onNode) in ByNode.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var (newPod, oldPod, ok) = NewAndOld(onNode, ds, hash);
            if (!ok) { surging++; continue; }
            if ((oldPod ?? newPod) is { } counted && PodState.IsAvailable(counted, _minReady, now)) available++;
            if (oldPod is null) continue;
            var shouldRun = nodesByName.TryGetValue(nodeName, out var node) && DaemonPods.Fit(node, ds).ShouldRun;
            if (newPod is null)
            {
                if (!PodState.IsAvailable(oldPod, _minReady, now))
                {
                    if (!shouldRun) delete.Add(oldPod);
                    else create.Add(nodeName);
                }
                else if (!shouldRun) misplaced.Add(oldPod);
                else if (surging < maxSurge) surgeCandidates.Add(nodeName);
                continue;
            }
            if (!PodState.IsAvailable(newPod, _minReady, now)) surging++;
            else delete.Add(oldPod);
        }
        // Pods on nodes that no longer fit go only once enough pods elsewhere are available.
        delete.AddRange(misplaced.Take(Math.Clamp(available - desired, 0, misplaced.Count)));
        create.AddRange(surgeCandidates.Take(Math.Clamp(maxSurge - surging, 0, surgeCandidates.Count)));
        return (create, delete);
    }
}
