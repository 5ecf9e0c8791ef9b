// A CRD version's openAPIV3Schema: the structural rules a CRD must meet, and pruning, defaulting and validation of objects.
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Appliance.ClusterRuntime.Api.Schema;

namespace Appliance.ClusterRuntime.Api.CustomResources;

/// <summary>
/// Works on the JSON schema as written in the CRD (a JSONSchemaProps object), as apiextensions-apiserver does with
/// its structural schema: unknown fields are pruned unless <c>x-kubernetes-preserve-unknown-fields</c>, defaults fill
/// absent fields, then the value is validated with upstream's messages (kube-openapi's validate package).
/// </summary>
public static partial class StructuralSchema
{
    /// <summary>Fields at the root of every object that the schema never prunes.</summary>
    static readonly string[] RootKept = ["apiVersion", "kind", "metadata"];

    /// <summary>Removes the fields <paramref name="schema"/> does not declare; returns the paths removed.</summary>
    public static List<string> Prune(JsonObject schema, JsonObject obj)
    {
        var pruned = new List<string>();
        PruneObject(schema, obj, "", isRoot: true, pruned);
        return pruned;
    }

    static void PruneNode(JsonObject schema, JsonNode? node, string path, List<string> pruned)
    {
        if (node is JsonObject o) PruneObject(schema, o, path, isRoot: false, pruned);
        else if (node is JsonArray a && schema["items"] is JsonObject items)
            for (int i = 0; i < a.Count; i++) PruneNode(items, a[i], $"{path}[{i}]", pruned);
    }

    static void PruneObject(JsonObject schema, JsonObject obj, string path, bool isRoot, List<string> pruned)
    {
        bool preserve = Flag(schema, "x-kubernetes-preserve-unknown-fields");
        bool embedded = Flag(schema, "x-kubernetes-embedded-resource");
        var properties = schema["properties"] as JsonObject;
        var additional = schema["additionalProperties"];
        foreach (var (name, value) in obj.ToList())
        {
            var at = path.Length == 0 ? name : $"{path}.{name}";
            if ((isRoot || embedded) && RootKept.Contains(name))
            {
                if (name == "metadata" || properties?[name] is not JsonObject) continue;
            }
            if (properties?[name] is JsonObject child)
            {
                if (value is null && !Flag(child, "nullable") && child["default"] is not null) obj.Remove(name);
                else PruneNode(child, value, at, pruned);
            }
            else if (additional is JsonObject extra) PruneNode(extra, value, at, pruned);
            else if (additional is JsonValue v && v.TryGetValue<bool>(out var allowed) && allowed) continue;
            else if (!preserve)
            {
                obj.Remove(name);
                pruned.Add(at);
            }
        }
    }

    /// <summary>Fills every absent field that has a <c>default</c> (and, as upstream, a null one that is not nullable).</summary>
    public static void Default(JsonObject schema, JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                if (schema["properties"] is JsonObject properties)
                    foreach (var (name, child) in properties)
                    {
                        if (child is not JsonObject c) continue;
                        if (c["default"] is { } d && (!o.ContainsKey(name) || (o[name] is null && !Flag(c, "nullable"))))
                            o[name] = d.DeepClone();
                        if (o[name] is { } value) Default(c, value);
                    }
                if (schema["additionalProperties"] is JsonObject extra)
                    foreach (var (name, value) in o.ToList())
                        if (schema["properties"]?[name] is null && value is not null) Default(extra, value);
                break;
            case JsonArray a when schema["items"] is JsonObject items:
                foreach (var item in a) if (item is not null) Default(items, item);
                break;
        }
    }

    /// <summary>The problems of <paramref name="obj"/> against <paramref name="schema"/> (the root's metadata is checked elsewhere).</summary>
    public static List<SchemaProblem> Validate(JsonObject schema, JsonObject obj)
    {
        var problems = new List<SchemaProblem>();
        if (schema["properties"] is JsonObject properties)
            foreach (var (name, value) in obj)
                if (name is not ("apiVersion" or "kind" or "metadata") && properties[name] is JsonObject child)
                    Check(child, value, name, problems);
        foreach (var name in Required(schema))
            if (name is not ("apiVersion" or "kind" or "metadata") && obj[name] is null)
                problems.Add(new(name, "Required value"));
        return problems;
    }

    /// <summary>Validates one value (used for defaults in a CRD too).</summary>
    public static void Check(JsonObject schema, JsonNode? node, string path, List<SchemaProblem> problems)
    {
        if (node is null)
        {
            if (!Flag(schema, "nullable") && Type(schema) is { } t) problems.Add(SchemaValidator.WrongType(path, "null", t));
            return;
        }
        var actual = SchemaValidator.JsonType(node);
        if (Flag(schema, "x-kubernetes-int-or-string"))
        {
            if (actual is not ("integer" or "string")) problems.Add(SchemaValidator.WrongType(path, actual, "integer,string"));
            return;
        }
        var type = Type(schema);
        if (type is not null && !(actual == type || (type == "number" && actual == "integer")))
        {
            problems.Add(SchemaValidator.WrongType(path, actual, type));
            return;
        }
        if (schema["enum"] is JsonArray choices && !choices.Any(c => JsonNode.DeepEquals(c, node)))
            problems.Add(new(path, $"Unsupported value: {Show(node)}: supported values: {string.Join(", ", choices.Select(Show))}"));
        switch (node)
        {
            case JsonValue v when actual == "string":
                var s = v.GetValue<string>();
                var runes = s.EnumerateRunes().Count();
                if (Long(schema, "maxLength") is { } max && runes > max) problems.Add(new(path, $"Too long: may not be more than {max} bytes"));
                if (Long(schema, "minLength") is { } min && runes < min) problems.Add(new(path, $"Invalid value: \"{s}\": {path} in body should be at least {min} chars long"));
                if (schema["pattern"] is JsonValue p && p.TryGetValue<string>(out var pattern) && !Matches(pattern, s))
                    problems.Add(new(path, $"Invalid value: \"{s}\": {path} in body should match '{pattern}'"));
                break;
            case JsonValue v when actual is "integer" or "number":
                var n = Number(v);
                var shown = Show(node);
                if (Number(schema, "minimum") is { } lo && (Flag(schema, "exclusiveMinimum") ? n <= lo : n < lo))
                    problems.Add(new(path, $"Invalid value: {shown}: {path} in body should be greater than {(Flag(schema, "exclusiveMinimum") ? "" : "or equal to ")}{Show(schema["minimum"]!)}"));
                if (Number(schema, "maximum") is { } hi && (Flag(schema, "exclusiveMaximum") ? n >= hi : n > hi))
                    problems.Add(new(path, $"Invalid value: {shown}: {path} in body should be less than {(Flag(schema, "exclusiveMaximum") ? "" : "or equal to ")}{Show(schema["maximum"]!)}"));
                break;
            case JsonArray a:
                if (Long(schema, "maxItems") is { } maxItems && a.Count > maxItems) problems.Add(new(path, $"Too many: {a.Count}: must have at most {maxItems} items"));
                if (Long(schema, "minItems") is { } minItems && a.Count < minItems) problems.Add(new(path, $"Invalid value: {a.Count}: {path} in body should have at least {minItems} items"));
                if (schema["items"] is JsonObject items)
                    for (int i = 0; i < a.Count; i++) Check(items, a[i], $"{path}[{i}]", problems);
                break;
            case JsonObject o:
                var properties = schema["properties"] as JsonObject;
                foreach (var (name, value) in o)
                {
                    if (properties?[name] is JsonObject child) Check(child, value, $"{path}.{name}", problems);
                    else if (schema["additionalProperties"] is JsonObject extra) Check(extra, value, $"{path}.{name}", problems);
                }
                foreach (var name in Required(schema))
                    if (!o.ContainsKey(name)) problems.Add(new($"{path}.{name}", "Required value"));
                if (Flag(schema, "x-kubernetes-embedded-resource"))
                    foreach (var name in new[] { "apiVersion", "kind" })
                        if (o[name] is not JsonValue f || !f.TryGetValue<string>(out var fs) || fs.Length == 0)
                            problems.Add(new($"{path}.{name}", "Required value: must not be empty"));
                break;
        }
    }

    static IEnumerable<string> Required(JsonObject schema) =>
        schema["required"] is JsonArray r ? r.OfType<JsonValue>().Select(x => x.TryGetValue<string>(out var s) ? s : null).OfType<string>() : [];

    internal static bool Flag(JsonObject schema, string name) => schema[name] is JsonValue v && v.TryGetValue<bool>(out var b) && b;

    internal static string? Type(JsonObject schema) =>
        schema["type"] is JsonValue v && v.TryGetValue<string>(out var t) && t.Length > 0 ? t : null;

    static long? Long(JsonObject schema, string name) =>
        schema[name] is JsonValue v && SchemaValidator.TryInteger(v, out var n) ? n : null;

    static double? Number(JsonObject schema, string name) => schema[name] is JsonValue v ? Number(v) : null;

    /// <summary>A JSON number as a double, whether it was parsed or written by the server as a long.</summary>
    static double Number(JsonValue v) =>
        SchemaValidator.TryInteger(v, out var n) ? n : v.TryGetValue<double>(out var d) ? d : double.NaN;

    /// <summary>A value as Go's %v-with-quotes prints it in field errors: strings quoted, numbers plain.</summary>
    static string Show(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => $"\"{s}\"",
        JsonValue v when SchemaValidator.TryInteger(v, out var n) => n.ToString(CultureInfo.InvariantCulture),
        JsonValue v when v.TryGetValue<double>(out var d) => d.ToString(CultureInfo.InvariantCulture),
        null => "null",
        _ => node.ToJsonString(),
    };

    /// <summary>ECMA 262 patterns as used by OpenAPI; compiled once per pattern (a bad one was refused with its CRD).</summary>
    static bool Matches(string pattern, string value)
    {
        var regex = Patterns.GetOrAdd(pattern, p => new Regex(p, RegexOptions.ECMAScript | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100)));
        try { return regex.IsMatch(value); }
        catch (RegexMatchTimeoutException) { return false; }
    }

    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Regex> Patterns = new();

    /// <summary>Null when <paramref name="pattern"/> compiles, else why not.</summary>
    internal static string? PatternProblem(string pattern)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.ECMAScript | RegexOptions.CultureInvariant);
            return null;
        }
        catch (ArgumentException e) { return e.Message; }
    }
}
