// The status a StatefulSet sync writes: the counts and revisions `kubectl rollout status sts/X` reads.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;

namespace Appliance.ClusterRuntime.Controllers.StatefulSet;

/// <summary>Counts of one sync, adjusted as it creates and deletes pods (upstream's <c>updateStatus</c> and <c>completeRollingUpdate</c>).</summary>
public sealed class StatefulSetStatus
{
    /// <summary>Pods that exist (phase set).</summary>
    public int Replicas { get; set; }
    /// <summary>Running and Ready pods.</summary>
    public int ReadyReplicas { get; set; }
    /// <summary>Ready for minReadySeconds.</summary>
    public int AvailableReplicas { get; set; }
    /// <summary>Pods at the current revision.</summary>
    public int CurrentReplicas { get; set; }
    /// <summary>Pods at the update revision.</summary>
    public int UpdatedReplicas { get; set; }

    /// <summary>Counts <paramref name="pods"/>.</summary>
    public static StatefulSetStatus Count(IEnumerable<JsonObject> pods, string currentRevision, string updateRevision, int minReadySeconds, DateTimeOffset now)
    {
        var s = new StatefulSetStatus();
        foreach (var pod in pods)
        {
            var created = PodState.Phase(pod).Length > 0;
            if (created) s.Replicas++;
            if (PodState.IsRunningAndReady(pod))
            {
                s.ReadyReplicas++;
                if (PodState.IsAvailable(pod, minReadySeconds, now)) s.AvailableReplicas++;
            }
            if (!created || PodState.IsTerminating(pod)) continue;
            var revision = StatefulPods.Revision(pod);
            if (revision == currentRevision) s.CurrentReplicas++;
            if (revision == updateRevision) s.UpdatedReplicas++;
        }
        return s;
    }

    /// <summary>
    /// The status object: once every pod is updated and ready under RollingUpdate, the update revision becomes the
    /// current one.
    /// </summary>
    public JsonObject ToJson(JsonObject set, string currentRevision, string updateRevision, int collisionCount)
    {
        var current = CurrentReplicas;
        if ((Obj.Str(set, "spec", "updateStrategy", "type") ?? "RollingUpdate") == "RollingUpdate"
            && UpdatedReplicas == Replicas && ReadyReplicas == Replicas)
        {
            current = UpdatedReplicas;
            currentRevision = updateRevision;
        }
        return new JsonObject
        {
            ["observedGeneration"] = Obj.Long(set, "metadata", "generation") ?? 0,
            ["replicas"] = Replicas,
            ["readyReplicas"] = ReadyReplicas,
            ["currentReplicas"] = current,
            ["updatedReplicas"] = UpdatedReplicas,
            ["currentRevision"] = currentRevision,
            ["updateRevision"] = updateRevision,
            ["collisionCount"] = collisionCount,
            ["availableReplicas"] = AvailableReplicas,
        };
    }
}
