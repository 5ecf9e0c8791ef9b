// The status a DaemonSet sync writes: the counts `kubectl get ds` and `kubectl rollout status ds/X` read.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;

namespace Appliance.ClusterRuntime.Controllers.DaemonSet;

/// <summary>Upstream's <c>updateDaemonSetStatus</c>: per node that should run a pod, its oldest pod decides.</summary>
public static class DaemonSetStatus
{
    /// <summary>
    /// The new status, and the earliest time a Ready pod becomes available (minReadySeconds), when one is waiting.
    /// </summary>
    public static (JsonObject Status, DateTimeOffset? Recheck) Compute(JsonObject ds, IReadOnlyList<JsonObject> nodes,
        DaemonSetPlan plan, string hash, int collisionCount, DateTimeOffset now)
    {
        int desired = 0, current = 0, misscheduled = 0, ready = 0, available = 0, updated = 0;
        DateTimeOffset? recheck = null;
        var minReady = Obj.Int(ds, 0, "spec", "minReadySeconds");
        foreach (var node in nodes)
        {
            var (shouldRun, _) = DaemonPods.Fit(node, ds);
            var onNode = (plan.ByNode.GetValueOrDefault(Meta.Name(node)!) ?? [])
                .Where(p => !(PodState.IsTerminal(p) && PodState.IsTerminating(p))).ToList();
            if (!shouldRun)
            {
                if (onNode.Count > 0) misscheduled++;
                continue;
            }
            desired++;
            if (onNode.Count == 0) continue;
            current++;
            var pod = onNode[0];
            if (PodState.IsReady(pod))
            {
                ready++;
                if (PodState.IsAvailable(pod, minReady, now)) available++;
                else if (PodState.AvailableAt(pod, minReady) is { } at && (recheck is null || at < recheck)) recheck = at;
            }
            if (DaemonPods.IsUpdated(pod, ds, hash)) updated++;
        }
        var status = new JsonObject
        {
            ["currentNumberScheduled"] = current,
            ["numberMisscheduled"] = misscheduled,
            ["desiredNumberScheduled"] = desired,
            ["numberReady"] = ready,
            ["observedGeneration"] = Obj.Long(ds, "metadata", "generation") ?? 0,
            ["updatedNumberScheduled"] = updated,
            ["numberAvailable"] = available,
        };
        if (desired - available > 0) status["numberUnavailable"] = desired - available;
        if (collisionCount > 0) status["collisionCount"] = collisionCount;
        return (status, recheck);
    }
}
