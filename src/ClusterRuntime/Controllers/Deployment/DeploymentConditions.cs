// Deployment status conditions (Available, Progressing, ReplicaFailure) with upstream's reasons and set rules.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Deployment;

/// <summary>Condition types, reasons and upstream's SetDeploymentCondition semantics on a status object.</summary>
public static class DeploymentConditions
{
    /// <summary>Condition types.</summary>
    public const string Available = "Available", Progressing = "Progressing", ReplicaFailure = "ReplicaFailure";

    /// <summary>Reasons (upstream's deployment/util constants).</summary>
    public const string NewRSReason = "NewReplicaSetCreated", FoundNewRSReason = "FoundNewReplicaSet",
        ReplicaSetUpdatedReason = "ReplicaSetUpdated", NewRSAvailableReason = "NewReplicaSetAvailable",
        TimedOutReason = "ProgressDeadlineExceeded", PausedReason = "DeploymentPaused", ResumedReason = "DeploymentResumed",
        FailedRSCreateReason = "ReplicaSetCreateError", MinimumReplicasAvailable = "MinimumReplicasAvailable",
        MinimumReplicasUnavailable = "MinimumReplicasUnavailable";

    /// <summary>A condition with both times set to <paramref name="now"/>.</summary>
    public static JsonObject New(string type, string status, string reason, string message, DateTimeOffset now) => new()
    {
        ["type"] = type,
        ["status"] = status,
        ["lastUpdateTime"] = Obj.Time(now),
        ["lastTransitionTime"] = Obj.Time(now),
        ["reason"] = reason,
        ["message"] = message,
    };

    /// <summary>The condition of <paramref name="type"/> in <paramref name="status"/>, or null.</summary>
    public static JsonObject? Get(JsonObject? status, string type) =>
        Obj.Items(status, "conditions").FirstOrDefault(c => Obj.Str(c, "type") == type);

    /// <summary>
    /// Sets <paramref name="condition"/>: unchanged when one with the same status and reason exists; its
    /// lastTransitionTime is kept when only the reason changes.
    /// </summary>
    public static void Set(JsonObject status, JsonObject condition)
    {
        var type = Obj.Str(condition, "type")!;
        var current = Get(status, type);
        if (current is not null && Obj.Str(current, "status") == Obj.Str(condition, "status") && Obj.Str(current, "reason") == Obj.Str(condition, "reason"))
            return;
        if (current is not null && Obj.Str(current, "status") == Obj.Str(condition, "status"))
            condition["lastTransitionTime"] = current["lastTransitionTime"]?.DeepClone();
        Remove(status, type);
        if (status["conditions"] is not JsonArray list) status["conditions"] = list = [];
        list.Add((JsonNode)condition);
    }

    /// <summary>Removes the condition of <paramref name="type"/>.</summary>
    public static void Remove(JsonObject status, string type)
    {
        if (status["conditions"] is not JsonArray list) return;
        foreach (var c in list.OfType<JsonObject>().Where(c => Obj.Str(c, "type") == type).ToList()) list.Remove(c);
        if (list.Count == 0) status.Remove("conditions");
    }
}
