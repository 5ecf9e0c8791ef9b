// Validation of a CustomResourceDefinition write (apiextensions-apiserver's ValidateCustomResourceDefinition, the parts a site meets).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Api.CustomResources;

/// <summary>Refuses a CRD whose name, names, scope, versions, schemas, subresources or columns upstream would refuse (422).</summary>
public static class CustomResourceDefinitionValidation
{
    static readonly string[] ColumnTypes = ["integer", "number", "string", "boolean", "date"];

    /// <summary>Throws 422 Invalid with every problem of <paramref name="crd"/> (after defaulting).</summary>
    public static void Check(ApiResource r, JsonObject crd)
    {
        var problems = Problems(crd);
        if (problems.Count > 0) throw ApiException.Invalid(r.Group, r.Kind, Meta.Name(crd) ?? "", problems);
    }

    /// <summary>The problems of <paramref name="crd"/>, as (field, message).</summary>
    public static List<(string Field, string Message)> Problems(JsonObject crd)
    {
        var p = new List<(string, string)>();
        var spec = crd["spec"] as JsonObject;
        var group = CrdNames.Str(spec, "group");
        var names = spec?["names"] as JsonObject;
        var plural = CrdNames.Str(names, "plural");
        var name = Meta.Name(crd) ?? "";
        if (name != $"{plural}.{group}") p.Add(("metadata.name", $"Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"));
        if (group.Length == 0) p.Add(("spec.group", "Required value"));
        else if (Validation.Dns1123Subdomain(group) is { } g) p.Add(("spec.group", $"Invalid value: \"{group}\": {g}"));
        else if (!group.Contains('.')) p.Add(("spec.group", $"Invalid value: \"{group}\": should be a domain with at least one dot"));
        NameProblems(names, "spec.names", p);
        var scope = CrdNames.Str(spec, "scope");
        if (scope.Length == 0) p.Add(("spec.scope", "Required value"));
        else if (scope is not ("Cluster" or "Namespaced")) p.Add(("spec.scope", $"Unsupported value: \"{scope}\": supported values: \"Cluster\", \"Namespaced\""));
        if (CrdNames.Str(spec?["conversion"], "strategy") is { Length: > 0 } strategy && strategy != "None")
            p.Add(("spec.conversion.strategy", $"Unsupported value: \"{strategy}\": supported values: \"None\" (this server has no conversion webhooks)"));
        var versions = (spec?["versions"] as JsonArray ?? []).ToList();
        if (versions.Count == 0) p.Add(("spec.versions", "Invalid value: null: must have exactly one version marked as storage version"));
        else if (versions.Count(v => v?["storage"] is JsonValue s && s.TryGetValue<bool>(out var b) && b) != 1)
            p.Add(("spec.versions", "Invalid value: \"" + string.Join(",", versions.Select(v => CrdNames.Str(v, "name"))) + "\": must have exactly one version marked as storage version"));
        var seen = new HashSet<string>();
        for (int i = 0; i < versions.Count; i++) VersionProblems(versions[i] as JsonObject, $"spec.versions[{i}]", seen, p);
        return p;
    }

    static void NameProblems(JsonObject? names, string path, List<(string, string)> p)
    {
        foreach (var field in new[] { "plural", "singular" })
        {
            var value = CrdNames.Str(names, field);
            if (value.Length == 0) p.Add(($"{path}.{field}", "Required value"));
            else if (Validation.Dns1123Label(value) is { } why) p.Add(($"{path}.{field}", $"Invalid value: \"{value}\": {why}"));
        }
        var kind = CrdNames.Str(names, "kind");
        var listKind = CrdNames.Str(names, "listKind");
        if (kind.Length == 0) p.Add(($"{path}.kind", "Required value"));
        else if (kind == listKind) p.Add(($"{path}.listKind", $"Invalid value: \"{listKind}\": kind and listKind may not be the same"));
        foreach (var s in CrdNames.Strings(names?["shortNames"]))
            if (Validation.Dns1123Label(s) is { } why) p.Add(($"{path}.shortNames", $"Invalid value: \"{s}\": {why}"));
        foreach (var c in CrdNames.Strings(names?["categories"]))
            if (Validation.Dns1123Label(c) is { } why) p.Add(($"{path}.categories", $"Invalid value: \"{c}\": {why}"));
    }

    static void VersionProblems(JsonObject? v, string path, HashSet<string> seen, List<(string, string)> p)
    {
        var name = CrdNames.Str(v, "name");
        if (name.Length == 0) p.Add(($"{path}.name", "Required value"));
        else if (Validation.Dns1123Label(name) is { } why) p.Add(($"{path}.name", $"Invalid value: \"{name}\": {why}"));
        else if (!seen.Add(name)) p.Add(($"{path}.name", $"Duplicate value: \"{name}\""));
        if (v?["schema"]?["openAPIV3Schema"] is not JsonObject schema)
            p.Add(($"{path}.schema.openAPIV3Schema", "Required value: schemas are required"));
        else p.AddRange(StructuralSchema.Problems(schema, $"{path}.schema.openAPIV3Schema"));
        if (v?["subresources"]?["scale"] is JsonObject scale)
        {
            var at = $"{path}.subresources.scale";
            var specPath = CrdNames.Str(scale, "specReplicasPath");
            var statusPath = CrdNames.Str(scale, "statusReplicasPath");
            if (specPath.Length == 0) p.Add(($"{at}.specReplicasPath", "Required value"));
            else if (!specPath.StartsWith(".spec.", StringComparison.Ordinal) || JsonPath.Parse(specPath) is null)
                p.Add(($"{at}.specReplicasPath", $"Invalid value: \"{specPath}\": should be a json path under .spec"));
            if (statusPath.Length == 0) p.Add(($"{at}.statusReplicasPath", "Required value"));
            else if (!statusPath.StartsWith(".status.", StringComparison.Ordinal) || JsonPath.Parse(statusPath) is null)
                p.Add(($"{at}.statusReplicasPath", $"Invalid value: \"{statusPath}\": should be a json path under .status"));
            if (CrdNames.Str(scale, "labelSelectorPath") is { Length: > 0 } sel
                && (!(sel.StartsWith(".spec.", StringComparison.Ordinal) || sel.StartsWith(".status.", StringComparison.Ordinal)) || JsonPath.Parse(sel) is null))
                p.Add(($"{at}.labelSelectorPath", $"Invalid value: \"{sel}\": should be a json path under either .spec or .status"));
        }
        var columns = (v?["additionalPrinterColumns"] as JsonArray ?? []).ToList();
        for (int i = 0; i < columns.Count; i++)
        {
            var at = $"{path}.additionalPrinterColumns[{i}]";
            if (CrdNames.Str(columns[i], "name").Length == 0) p.Add(($"{at}.name", "Required value"));
            var type = CrdNames.Str(columns[i], "type");
            if (type.Length == 0) p.Add(($"{at}.type", "Required value"));
            else if (!ColumnTypes.Contains(type))
                p.Add(($"{at}.type", $"Unsupported value: \"{type}\": supported values: {string.Join(", ", ColumnTypes.Select(t => $"\"{t}\""))}"));
            var jsonPath = CrdNames.Str(columns[i], "jsonPath");
            if (jsonPath.Length == 0) p.Add(($"{at}.jsonPath", "Required value"));
            else if (JsonPath.Parse(jsonPath) is null) p.Add(($"{at}.jsonPath", $"Invalid value: \"{jsonPath}\": must be a simple json path"));
        }
    }
}
