// What controllers read off a pod: phase, readiness, availability, termination, activity.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Workloads;

/// <summary>Upstream's <c>podutil</c> predicates over a pod held as JSON.</summary>
public static class PodState
{
    /// <summary><c>status.phase</c>, or "" when the pod has none yet.</summary>
    public static string Phase(JsonObject pod) => Obj.Str(pod, "status", "phase") ?? "";

    /// <summary>Neither terminal (Succeeded, Failed) nor being deleted: a pod that counts as a replica or a running Job pod.</summary>
    public static bool IsActive(JsonObject pod) => !IsTerminal(pod) && !Obj.IsDeleting(pod);

    /// <summary>True when the pod's <c>Ready</c> condition is <c>True</c>.</summary>
    public static bool IsReady(JsonObject pod) => ReadyCondition(pod) is { } c && Obj.Str(c, "status") == "True";

    /// <summary>
    /// True when the pod has been Ready for at least <paramref name="minReadySeconds"/> at <paramref name="now"/>
    /// (upstream's <c>IsPodAvailable</c>: measured from the Ready condition's lastTransitionTime, strictly before now).
    /// </summary>
    public static bool IsAvailable(JsonObject pod, int minReadySeconds, DateTimeOffset now)
    {
        var ready = ReadyCondition(pod);
        if (ready is null || Obj.Str(ready, "status") != "True") return false;
        if (minReadySeconds <= 0) return true;
        return Obj.Time(ready, "lastTransitionTime") is { } since && since.AddSeconds(minReadySeconds) < now;
    }

    /// <summary>When a Ready pod becomes available, or null when it is not Ready.</summary>
    public static DateTimeOffset? AvailableAt(JsonObject pod, int minReadySeconds) =>
        ReadyCondition(pod) is { } c && Obj.Str(c, "status") == "True" && Obj.Time(c, "lastTransitionTime") is { } since
            ? since.AddSeconds(Math.Max(0, minReadySeconds)) : null;

    /// <summary>True for phase Succeeded or Failed.</summary>
    public static bool IsTerminal(JsonObject pod) => Phase(pod) is "Succeeded" or "Failed";

    /// <summary>True when the pod carries a deletionTimestamp.</summary>
    public static bool IsTerminating(JsonObject pod) => Obj.IsDeleting(pod);

    /// <summary>True when the pod is Running and Ready (upstream's StatefulSet <c>isRunningAndReady</c>).</summary>
    public static bool IsRunningAndReady(JsonObject pod) => Phase(pod) == "Running" && IsReady(pod);

    /// <summary>The pod's Ready condition, or null.</summary>
    public static JsonObject? ReadyCondition(JsonObject pod) =>
        Obj.Items(pod, "status", "conditions").FirstOrDefault(c => Obj.Str(c, "type") == "Ready");
}
