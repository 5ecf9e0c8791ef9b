// Deployment status: counts from its ReplicaSets, the Available and Progressing conditions, paused and deadline handling.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using static Appliance.ClusterRuntime.Controllers.Deployment.DeploymentConditions;
using static Appliance.ClusterRuntime.Controllers.Deployment.DeploymentUtil;

namespace Appliance.ClusterRuntime.Controllers.Deployment;

public sealed partial class DeploymentController
{
    /// <summary>The old ReplicaSets followed by the new one (when there is one).</summary>
    static List<JsonObject> All(JsonObject? newRs, List<JsonObject> old) => newRs is null ? [.. old] : [.. old, newRs];

    /// <summary>
    /// Upstream's calculateStatus. Zero counts are left out, as its JSON does (<c>omitempty</c>); unavailable is the
    /// ReplicaSets' spec total minus available; Available is True while available &gt;= replicas - maxUnavailable.
    /// </summary>
    JsonObject CalculateStatus(JsonObject d, List<JsonObject> all, JsonObject? newRs)
    {
        var available = AvailableReplicas(all);
        var unavailable = Math.Max(0, SpecReplicas(all) - available);
        var status = new JsonObject();
        if (Obj.Long(d, "metadata", "generation") is long g) status["observedGeneration"] = g;
        Put(status, "replicas", ActualReplicas(all));
        Put(status, "updatedReplicas", ActualReplicas([newRs]));
        Put(status, "readyReplicas", ReadyReplicas(all));
        Put(status, "availableReplicas", available);
        Put(status, "unavailableReplicas", unavailable);
        if (Obj.At(d, "status", "conditions") is JsonArray conditions) status["conditions"] = conditions.DeepClone();
        if (Obj.At(d, "status", "collisionCount") is { } collisions) status["collisionCount"] = collisions.DeepClone();
        if (available >= Replicas(d) - MaxUnavailable(d))
            Set(status, New(Available, "True", MinimumReplicasAvailable, "Deployment has minimum availability.", Now));
        else
            Set(status, New(Available, "False", MinimumReplicasUnavailable, "Deployment does not have minimum availability.", Now));
        return status;
    }

    static void Put(JsonObject status, string field, int value)
    {
        if (value != 0) status[field] = value;
    }

    /// <summary>Writes the calculated status when it differs (scale events, paused Deployments).</summary>
    async Task SyncDeploymentStatusAsync(JsonObject d, List<JsonObject> all, JsonObject? newRs, CancellationToken ct)
    {
        var status = CalculateStatus(d, all, newRs);
        if (JsonNode.DeepEquals(status, Obj.At(d, "status"))) return;
        d["status"] = status;
        await SaveAsync(d, ct);
    }

    /// <summary>A Deployment being deleted only gets its status written.</summary>
    async Task SyncStatusOnlyAsync(JsonObject d, List<JsonObject> sets, CancellationToken ct)
    {
        var (newRs, old) = await AllReplicaSetsAsync(d, sets, create: false, ct);
        await SyncDeploymentStatusAsync(d, All(newRs, old), newRs, ct);
    }

    /// <summary>Progressing is Unknown with DeploymentPaused while paused, and DeploymentResumed once resumed.</summary>
    async Task CheckPausedConditionsAsync(JsonObject d, CancellationToken ct)
    {
        if (!HasProgressDeadline(d)) return;
        var paused = Obj.Bool(d, "spec", "paused") == true;
        var reason = Obj.Str(Get(Obj.Object(d, "status"), Progressing), "reason");
        JsonObject? condition = null;
        if (paused && reason != PausedReason) condition = New(Progressing, "Unknown", PausedReason, "Deployment is paused", Now);
        else if (!paused && reason == PausedReason) condition = New(Progressing, "Unknown", ResumedReason, "Deployment is resumed", Now);
        if (condition is null) return;
        Set(Obj.Ensure(d, "status"), condition);
        await SaveAsync(d, ct);
    }

    /// <summary>
    /// Upstream's syncRolloutStatus: Progressing becomes NewReplicaSetAvailable once complete, is refreshed as
    /// ReplicaSetUpdated while pods progress, turns ProgressDeadlineExceeded when nothing progressed for
    /// progressDeadlineSeconds; ReplicaFailure mirrors the ReplicaSets'. A Deployment still within its deadline is
    /// looked at again when the deadline would pass.
    /// </summary>
    async Task SyncRolloutStatusAsync(JsonObject d, List<JsonObject> all, JsonObject? newRs, CancellationToken ct)
    {
        var status = CalculateStatus(d, all, newRs);
        if (!HasProgressDeadline(d)) Remove(status, Progressing);
        var current = Get(status, Progressing);
        var complete = Obj.Int(status, 0, "replicas") == Obj.Int(status, 0, "updatedReplicas") && Obj.Str(current, "reason") == NewRSAvailableReason;
        if (HasProgressDeadline(d) && !complete)
        {
            if (IsComplete(d, status))
            {
                var message = newRs is null ? "Deployment has successfully progressed." : $"ReplicaSet \"{Meta.Name(newRs)}\" has successfully progressed.";
                Set(status, New(Progressing, "True", NewRSAvailableReason, message, Now));
            }
            else if (IsProgressing(d, status))
            {
                var message = newRs is null ? "Deployment is progressing." : $"ReplicaSet \"{Meta.Name(newRs)}\" is progressing.";
                var condition = New(Progressing, "True", ReplicaSetUpdatedReason, message, Now);
                if (current is not null)
                {
                    if (Obj.Str(current, "status") == "True") condition["lastTransitionTime"] = current["lastTransitionTime"]?.DeepClone();
                    Remove(status, Progressing);
                }
                Set(status, condition);
            }
            else if (IsTimedOut(d, status))
            {
                var message = newRs is null ? $"Deployment \"{Meta.Name(d)}\" has timed out progressing." : $"ReplicaSet \"{Meta.Name(newRs)}\" has timed out progressing.";
                Set(status, New(Progressing, "False", TimedOutReason, message, Now));
            }
        }
        if (ReplicaFailures(all, newRs) is { } failure) Set(status, failure);
        else Remove(status, ReplicaFailure);

        if (JsonNode.DeepEquals(status, Obj.At(d, "status")))
        {
            RequeueStuck(d, status);
            return;
        }
        d["status"] = status;
        await SaveAsync(d, ct);
    }

    /// <summary>All replicas updated, existing and available, and the newest generation observed.</summary>
    static bool IsComplete(JsonObject d, JsonObject status)
    {
        var replicas = Replicas(d);
        return Obj.Int(status, 0, "updatedReplicas") == replicas && Obj.Int(status, 0, "replicas") == replicas
            && Obj.Int(status, 0, "availableReplicas") == replicas
            && (Obj.Long(status, "observedGeneration") ?? 0) >= (Obj.Long(d, "metadata", "generation") ?? 0);
    }

    /// <summary>More updated, ready or available replicas than before, or fewer old ones.</summary>
    static bool IsProgressing(JsonObject d, JsonObject status)
    {
        int Old(JsonObject? s) => Obj.Int(s, 0, "replicas") - Obj.Int(s, 0, "updatedReplicas");
        var before = Obj.Object(d, "status");
        return Obj.Int(status, 0, "updatedReplicas") > Obj.Int(before, 0, "updatedReplicas") || Old(status) < Old(before)
            || Obj.Int(status, 0, "readyReplicas") > Obj.Int(before, 0, "readyReplicas")
            || Obj.Int(status, 0, "availableReplicas") > Obj.Int(before, 0, "availableReplicas");
    }

    bool IsTimedOut(JsonObject d, JsonObject status)
    {
        if (!HasProgressDeadline(d) || Get(status, Progressing) is not { } condition) return false;
        var reason = Obj.Str(condition, "reason");
        if (reason == NewRSAvailableReason) return false;
        if (reason == TimedOutReason) return true;
        var from = Obj.Time(condition, "lastUpdateTime") ?? Now;
        return from.AddSeconds(Obj.Int(d, 600, "spec", "progressDeadlineSeconds")) < Now;
    }

    /// <summary>The ReplicaFailure condition of the new ReplicaSet, else of an old one, as a Deployment condition.</summary>
    static JsonObject? ReplicaFailures(List<JsonObject> all, JsonObject? newRs)
    {
        var ordered = newRs is null ? all : [newRs, .. all.Where(rs => !ReferenceEquals(rs, newRs))];
        foreach (var rs in ordered)
        {
            if (Obj.Items(rs, "status", "conditions").FirstOrDefault(c => Obj.Str(c, "type") == ReplicaFailure) is not { } c) continue;
            return new JsonObject
            {
                ["type"] = ReplicaFailure,
                ["status"] = Obj.Str(c, "status"),
                ["lastUpdateTime"] = Obj.Str(c, "lastTransitionTime"),
                ["lastTransitionTime"] = Obj.Str(c, "lastTransitionTime"),
                ["reason"] = Obj.Str(c, "reason"),
                ["message"] = Obj.Str(c, "message"),
            };
        }
        return null;
    }

    /// <summary>A rollout that is neither complete nor timed out is synced again when its deadline would pass.</summary>
    void RequeueStuck(JsonObject d, JsonObject status)
    {
        if (!HasProgressDeadline(d) || Get(status, Progressing) is not { } condition) return;
        if (IsComplete(d, status) || Obj.Str(condition, "reason") == TimedOutReason) return;
        var from = Obj.Time(condition, "lastUpdateTime") ?? Now;
        var after = from.AddSeconds(Obj.Int(d, 600, "spec", "progressDeadlineSeconds")) - Now;
        _queue.AddAfter(Informer.KeyOf(d), after < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : after + TimeSpan.FromSeconds(1));
    }
}
