// Field selector parsing and matching over a fixed set of supported fields per resource.
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.Selectors;

/// <summary>A parsed field selector (<c>metadata.name=x,status.phase!=Running</c>).</summary>
public sealed class FieldSelector
{
    sealed record Requirement(string Field, bool Equal, string Value);

    readonly List<Requirement> _requirements = [];

    /// <summary>The selector that matches everything.</summary>
    public static readonly FieldSelector Everything = new();

    /// <summary>True when there is no requirement.</summary>
    public bool IsEmpty => _requirements.Count == 0;

    /// <summary>The value required for <c>metadata.name</c>, if the selector pins one.</summary>
    public string? ExactName => _requirements.FirstOrDefault(r => r.Field == "metadata.name" && r.Equal)?.Value;

    /// <summary>Fields every resource supports.</summary>
    static readonly string[] Common = ["metadata.name", "metadata.namespace"];

    /// <summary>Extra fields by kind.</summary>
    static readonly Dictionary<string, string[]> PerKind = new()
    {
        ["Pod"] = ["spec.nodeName", "status.phase", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "status.podIP"],
        ["Secret"] = ["type"],
        ["Node"] = ["spec.unschedulable"],
        ["Namespace"] = ["status.phase"],
        // kube-apiserver's event fields; "source" is source.component. Stored Events are core/v1: an events.k8s.io/v1
        // selector may name its own fields (regarding.name, reportingController), which are matched as their core names.
        ["Event"] =
        [
            "involvedObject.kind", "involvedObject.name", "involvedObject.namespace", "involvedObject.uid", "involvedObject.apiVersion",
            "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
        ],
        ["Job"] = ["status.successful"],
    };

    /// <summary>Parses the selector for <paramref name="resource"/>; unknown fields are a 400, as in Kubernetes.</summary>
    public static FieldSelector Parse(string? text, ApiResource resource)
    {
        var selector = new FieldSelector();
        if (string.IsNullOrWhiteSpace(text)) return selector;
        foreach (var raw in text.Split(','))
        {
            var part = raw.Trim();
            if (part.Length == 0) continue;
            string field, value;
            bool equal;
            int ne = part.IndexOf("!=", StringComparison.Ordinal);
            if (ne > 0) { field = part[..ne]; value = part[(ne + 2)..]; equal = false; }
            else
            {
                int eq = part.IndexOf('=');
                if (eq <= 0) throw ApiException.BadRequest($"invalid selector: '{text}'; can't understand '{part}'");
                field = part[..eq];
                value = part[(eq + 1)..].TrimStart('=');
                equal = true;
            }
            field = field.Trim();
            if (resource.StoredAs is not null && resource.Kind == "Event") field = Storage.EventConversion.CoreField(field);
            if (!Common.Contains(field) && !(PerKind.TryGetValue(resource.Kind, out var extra) && extra.Contains(field)))
                throw ApiException.BadRequest($"field label not supported: {field}");
            selector._requirements.Add(new(field, equal, value.Trim()));
        }
        return selector;
    }

    /// <summary>True when <paramref name="obj"/> satisfies every requirement.</summary>
    public bool Matches(JsonObject obj)
    {
        foreach (var r in _requirements)
        {
            var actual = Lookup(obj, r.Field);
            if ((actual == r.Value) != r.Equal) return false;
        }
        return true;
    }

    static string Lookup(JsonObject obj, string path)
    {
        if (path == "source" && obj["kind"]?.GetValue<string>() == "Event") path = "source.component";
        JsonNode? node = obj;
        foreach (var part in path.Split('.'))
        {
            node = node is JsonObject o ? o[part] : null;
            if (node is null) return "";
        }
        return node is JsonValue v ? (v.TryGetValue<string>(out var s) ? s : v.ToJsonString()) : node.ToJsonString();
    }
}
