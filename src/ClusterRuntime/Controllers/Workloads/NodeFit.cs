// Whether a pod spec fits a node by labels (nodeSelector, required node affinity) and by taints (tolerations).
using System.Globalization;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Workloads;

/// <summary>
/// Upstream's <c>component-helpers/scheduling/corev1</c> node affinity matching and <c>v1helper</c> toleration
/// matching, which the DaemonSet controller and the scheduler's filters both use.
/// </summary>
public static class NodeFit
{
    /// <summary>True when <paramref name="podSpec"/>'s <c>nodeSelector</c> and required node affinity both match <paramref name="node"/>.</summary>
    public static bool MatchesNodeSelectorAndAffinity(JsonObject? podSpec, JsonObject node)
    {
        if (Obj.Object(podSpec, "nodeSelector") is { } selector)
            foreach (var (key, value) in selector)
                if (Meta.Label(node, key) != (value as JsonValue)?.ToString()) return false;
        var required = Obj.Object(podSpec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution");
        return required is null || MatchesNodeSelector(required, node);
    }

    /// <summary>A <c>NodeSelector</c>: any term matches; a term matches when all its requirements hold; an empty term matches nothing.</summary>
    public static bool MatchesNodeSelector(JsonObject nodeSelector, JsonObject node) =>
        Obj.Items(nodeSelector, "nodeSelectorTerms").Any(term => MatchesTerm(term, node));

    static bool MatchesTerm(JsonObject term, JsonObject node)
    {
        var expressions = Obj.Items(term, "matchExpressions").ToList();
        var fields = Obj.Items(term, "matchFields").ToList();
        if (expressions.Count == 0 && fields.Count == 0) return false;
        return expressions.All(e => Matches(e, Meta.Label(node, Obj.Str(e, "key") ?? "")))
            && fields.All(f => Obj.Str(f, "key") == "metadata.name" && Matches(f, Meta.Name(node)));
    }

    static bool Matches(JsonObject requirement, string? value)
    {
        var values = (Obj.At(requirement, "values") as JsonArray ?? []).Select(v => (v as JsonValue)?.ToString()).ToList();
        return Obj.Str(requirement, "operator") switch
        {
            "In" => value is not null && values.Contains(value),
            "NotIn" => value is null || !values.Contains(value),
            "Exists" => value is not null,
            "DoesNotExist" => value is null,
            "Gt" => Compare(value, values) is > 0,
            "Lt" => Compare(value, values) is < 0,
            _ => false,
        };
    }

    static int? Compare(string? value, List<string?> values) =>
        values.Count == 1 && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var have)
            && long.TryParse(values[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var want)
            ? have.CompareTo(want) : null;

    /// <summary>Upstream's <c>ToleratesTaint</c>.</summary>
    public static bool Tolerates(JsonObject toleration, JsonObject taint)
    {
        var effect = Obj.Str(toleration, "effect");
        if (!string.IsNullOrEmpty(effect) && effect != Obj.Str(taint, "effect")) return false;
        var key = Obj.Str(toleration, "key");
        if (!string.IsNullOrEmpty(key) && key != Obj.Str(taint, "key")) return false;
        return Obj.Str(toleration, "operator") switch
        {
            null or "" or "Equal" => (Obj.Str(toleration, "value") ?? "") == (Obj.Str(taint, "value") ?? ""),
            "Exists" => true,
            _ => false,
        };
    }

    /// <summary>The first taint of <paramref name="node"/> accepted by <paramref name="effects"/> that no toleration tolerates, or null.</summary>
    public static JsonObject? FirstUntoleratedTaint(JsonObject node, IEnumerable<JsonObject> tolerations, Func<string?, bool> effects)
    {
        var list = tolerations.ToList();
        return Obj.Items(node, "spec", "taints")
            .FirstOrDefault(t => effects(Obj.Str(t, "effect")) && !list.Any(tol => Tolerates(tol, t)));
    }
}
