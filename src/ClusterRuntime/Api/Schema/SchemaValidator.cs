// Checks a JSON object against a type of the table: JSON types, integer ranges, quantity syntax and nesting depth.
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Appliance.ClusterRuntime.Api.Schema;

/// <summary>One field that does not fit its type: the field path (<c>spec.containers[0].ports[0].containerPort</c>) and why.</summary>
public sealed record SchemaProblem(string Field, string Message);

/// <summary>
/// Walks an object along its <see cref="TypeDef"/>. Check tolerates undeclared fields (only their depth counts; field
/// validation drops them first through <see cref="PruneUnknown"/>); null is
/// accepted anywhere, as Go decoding treats it as unset. Messages use upstream's schema wording
/// (<c>Invalid value: "array": data in body must be of type object: "array"</c>).
/// </summary>
public static partial class SchemaValidator
{
    /// <summary>
    /// Deepest nesting of objects and arrays an object may have (the top level counts 1). It matches the depth
    /// System.Text.Json reads and writes by default, so whatever is stored can be read back.
    /// </summary>
    public const int MaxDepth = 64;

    /// <summary>At most this many problems are reported for one object.</summary>
    const int MaxProblems = 20;

    /// <summary>The problems of <paramref name="obj"/> as a <paramref name="type"/>; with <paramref name="only"/>, of those top-level fields alone.</summary>
    public static List<SchemaProblem> Check(TypeDef type, JsonObject obj, IReadOnlyCollection<string>? only = null)
    {
        var problems = new List<SchemaProblem>();
        foreach (var (name, value) in obj)
        {
            if (only is not null && !only.Contains(name)) continue;
            var field = type.Field(name);
            if (field is null) Free(value, name, 2, problems);
            else Walk(value, field.Type, name, 2, problems);
        }
        return problems;
    }

    /// <summary>True when <paramref name="obj"/> fits <paramref name="type"/>.</summary>
    public static bool Fits(TypeDef type, JsonObject obj) => Check(type, obj).Count == 0;

    static void Walk(JsonNode? node, FieldType t, string path, int depth, List<SchemaProblem> problems)
    {
        if (node is null || problems.Count >= MaxProblems) return;
        var actual = JsonType(node);
        bool fits = t.Kind switch
        {
            ValueKind.String or ValueKind.Time or ValueKind.Bytes => actual == "string",
            ValueKind.Integer => actual == "integer",
            ValueKind.Number => actual is "integer" or "number",
            ValueKind.Boolean => actual == "boolean",
            ValueKind.IntOrString => actual is "integer" or "string",
            ValueKind.Quantity => actual is "integer" or "number" or "string",
            ValueKind.Array => actual == "array",
            _ => actual == "object",
        };
        if (!fits)
        {
            problems.Add(WrongType(path, actual, t.Expected));
            return;
        }
        if (depth > MaxDepth && node is JsonObject or JsonArray)
        {
            problems.Add(new(path, $"Invalid value: \"{actual}\": {path} nests deeper than the limit of {MaxDepth} levels"));
            return;
        }
        switch (t.Kind)
        {
            case ValueKind.Integer when t.Format == "int32" && TryInteger(node.AsValue(), out var n) && (n < int.MinValue || n > int.MaxValue):
                problems.Add(new(path, $"Invalid value: {n}: {path} in body must be a 32-bit integer"));
                break;
            case ValueKind.Quantity when actual == "string" && !QuantityPattern().IsMatch(node.GetValue<string>()):
                problems.Add(new(path, $"Invalid value: \"{node.GetValue<string>()}\": quantities must match the regular expression '{QuantityPattern()}'"));
                break;
            case ValueKind.Object:
                foreach (var (name, value) in node.AsObject())
                {
                    var field = t.Type!.Field(name);
                    if (field is null) Free(value, $"{path}.{name}", depth + 1, problems);
                    else Walk(value, field.Type, $"{path}.{name}", depth + 1, problems);
                }
                break;
            case ValueKind.Map:
                foreach (var (key, value) in node.AsObject()) Walk(value, t.Element!, $"{path}.{key}", depth + 1, problems);
                break;
            case ValueKind.Array:
                var array = node.AsArray();
                for (int i = 0; i < array.Count; i++) Walk(array[i], t.Element!, $"{path}[{i}]", depth + 1, problems);
                break;
            case ValueKind.FreeObject:
                Free(node, path, depth, problems);
                break;
        }
    }

    /// <summary>A value the table does not describe: only its depth is checked.</summary>
    static void Free(JsonNode? node, string path, int depth, List<SchemaProblem> problems)
    {
        if (node is not (JsonObject or JsonArray) || problems.Count >= MaxProblems) return;
        if (depth > MaxDepth)
        {
            problems.Add(new(path, $"Invalid value: \"{JsonType(node)}\": {path} nests deeper than the limit of {MaxDepth} levels"));
            return;
        }
        if (node is JsonObject o)
            foreach (var (name, value) in o) Free(value, $"{path}.{name}", depth + 1, problems);
        else
        {
            var a = node.AsArray();
            for (int i = 0; i < a.Count; i++) Free(a[i], $"{path}[{i}]", depth + 1, problems);
        }
    }

    /// <summary>
    /// Removes the fields the table does not declare for <paramref name="type"/>, at any depth, and returns their paths
    /// as upstream's strict decoding names them (<c>spec.template.spec.containers[0].imagee</c>). With
    /// <paramref name="patch"/>, keys starting with <c>$</c> (strategic merge patch directives) are kept.
    /// </summary>
    public static List<string> PruneUnknown(TypeDef type, JsonObject obj, bool patch = false)
    {
        var unknown = new List<string>();
        Prune(obj, type, "", patch, unknown);
        return unknown;
    }

    static void Prune(JsonObject obj, TypeDef type, string path, bool patch, List<string> unknown)
    {
        foreach (var (name, value) in obj.ToList())
        {
            var at = path.Length == 0 ? name : $"{path}.{name}";
            if (type.Field(name) is { } field) PruneValue(value, field.Type, at, patch, unknown);
            else if (!(patch && name.StartsWith('$')))
            {
                unknown.Add(at);
                obj.Remove(name);
            }
        }
    }

    static void PruneValue(JsonNode? node, FieldType t, string path, bool patch, List<string> unknown)
    {
        switch (t.Kind)
        {
            case ValueKind.Object when node is JsonObject o:
                Prune(o, t.Type!, path, patch, unknown);
                break;
            case ValueKind.Map when node is JsonObject m:
                foreach (var (key, value) in m) PruneValue(value, t.Element!, $"{path}.{key}", patch, unknown);
                break;
            case ValueKind.Array when node is JsonArray a:
                for (int i = 0; i < a.Count; i++) PruneValue(a[i], t.Element!, $"{path}[{i}]", patch, unknown);
                break;
        }
    }

    /// <summary>
    /// A value of the wrong JSON type, in upstream's words:
    /// <c>Invalid value: "string": spec.replicas in body must be of type integer: "string"</c>.
    /// </summary>
    public static SchemaProblem WrongType(string path, string actual, string expected) =>
        new(path, $"Invalid value: \"{actual}\": {path} in body must be of type {expected}: \"{actual}\"");

    /// <summary>The JSON type of a value as OpenAPI names it (a number without a fraction is an integer).</summary>
    public static string JsonType(JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => TryInteger(node.AsValue(), out _) ? "integer" : "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => "null",
    };

    /// <summary>True when <paramref name="v"/> is a number without a fraction that fits a long.</summary>
    public static bool TryInteger(JsonValue v, out long n)
    {
        if (v.TryGetValue(out n)) return true;
        if (!v.TryGetValue<int>(out var i)) return false;
        n = i;
        return true;
    }

    /// <summary>resource.Quantity's syntax, as upstream's parse error quotes it.</summary>
    [GeneratedRegex(@"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")]
    private static partial Regex QuantityPattern();
}
