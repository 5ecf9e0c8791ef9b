// Taints and tolerations as upstream matches them (shared by the scheduler, DaemonSet and taint eviction controllers).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Scheduler;

/// <summary>A node taint.</summary>
/// <param name="Key">Taint key.</param>
/// <param name="Value">Taint value (may be empty).</param>
/// <param name="Effect">NoSchedule, PreferNoSchedule or NoExecute.</param>
/// <param name="TimeAdded">When a NoExecute taint was added, if recorded.</param>
public sealed record Taint(string Key, string Value, string Effect, DateTimeOffset? TimeAdded = null)
{
    /// <summary>The taints of <c>spec.taints</c> of a node.</summary>
    public static List<Taint> Of(JsonObject? node) =>
        Obj.Items(node, "spec", "taints")
            .Select(t => new Taint(Obj.Str(t, "key") ?? "", Obj.Str(t, "value") ?? "", Obj.Str(t, "effect") ?? "", Obj.Time(t, "timeAdded")))
            .ToList();

    /// <summary>True when one of <paramref name="tolerations"/> tolerates this taint.</summary>
    public bool ToleratedBy(IEnumerable<JsonObject> tolerations) => tolerations.Any(Tolerates);

    /// <summary>The toleration of <paramref name="tolerations"/> that tolerates this taint, or null.</summary>
    public JsonObject? FirstToleration(IEnumerable<JsonObject> tolerations) => tolerations.FirstOrDefault(Tolerates);

    /// <summary>
    /// core/v1 Toleration.ToleratesTaint: the effect matches (empty tolerates all effects), the key matches (an empty
    /// key with operator Exists tolerates every key), and the value matches for operator Equal (the default).
    /// </summary>
    public bool Tolerates(JsonObject toleration)
    {
        var effect = Obj.Str(toleration, "effect") ?? "";
        if (effect.Length > 0 && effect != Effect) return false;
        var key = Obj.Str(toleration, "key") ?? "";
        if (key.Length > 0 && key != Key) return false;
        return (Obj.Str(toleration, "operator") ?? "") switch
        {
            "Exists" => true,
            "" or "Equal" => (Obj.Str(toleration, "value") ?? "") == Value,
            _ => false,
        };
    }
}
