// nodeSelector and required node affinity (matchExpressions and matchFields) against a node (scheduler and DaemonSet).
using System.Globalization;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Scheduler;

/// <summary>
/// Upstream's NodeAffinity filter (<c>component-helpers/scheduling/corev1</c>): the pod's nodeSelector and its
/// required node selector terms must both match. The DaemonSet controller uses it too.
/// </summary>
public static class NodeAffinity
{
    /// <summary>True when <paramref name="node"/> satisfies the nodeSelector and required affinity of <paramref name="podSpec"/>.</summary>
    public static bool Matches(JsonObject? podSpec, JsonObject node)
    {
        if (Obj.Object(podSpec, "nodeSelector") is { } selector)
            foreach (var (key, value) in selector)
                if (Meta.Label(node, key) != (value as JsonValue)?.ToString()) return false;
        if (Obj.At(podSpec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution") is not JsonObject required) return true;
        // Terms are ORed; an empty term (no expressions, no fields) selects nothing.
        return Obj.Items(required, "nodeSelectorTerms").Any(term => TermMatches(term, node));
    }

    static bool TermMatches(JsonObject term, JsonObject node)
    {
        var expressions = Obj.Items(term, "matchExpressions").ToList();
        var fields = Obj.Items(term, "matchFields").ToList();
        if (expressions.Count == 0 && fields.Count == 0) return false;
        return expressions.All(r => Requirement(r, Meta.Label(node, Obj.Str(r, "key") ?? "")))
            && fields.All(r => Obj.Str(r, "key") == "metadata.name" && Requirement(r, Meta.Name(node)));
    }

    static bool Requirement(JsonObject req, string? actual)
    {
        var values = (Obj.At(req, "values") as JsonArray)?.Select(v => (v as JsonValue)?.ToString()).ToList() ?? [];
        return Obj.Str(req, "operator") switch
        {
            "In" => actual is not null && values.Contains(actual),
            "NotIn" => actual is null || !values.Contains(actual),
            "Exists" => actual is not null,
            "DoesNotExist" => actual is null,
            "Gt" => Compare(actual, values) is > 0,
            "Lt" => Compare(actual, values) is < 0,
            _ => false,
        };
    }

    static int? Compare(string? actual, List<string?> values) =>
        actual is not null && values.Count == 1
        && long.TryParse(actual, NumberStyles.Integer, CultureInfo.InvariantCulture, out var a)
        && long.TryParse(values[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var b) ? a.CompareTo(b) : null;
}
