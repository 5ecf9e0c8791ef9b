// The structural-schema rules a CRD's openAPIV3Schema must meet (apiextensions-apiserver's "non-structural" refusals).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Schema;

namespace Appliance.ClusterRuntime.Api.CustomResources;

public static partial class StructuralSchema
{
    /// <summary>The JSON types a schema node may name.</summary>
    static readonly string[] Types = ["array", "boolean", "integer", "number", "object", "string"];

    /// <summary>Keywords a structural schema refuses, with upstream's reason.</summary>
    static readonly (string Name, string Why)[] Forbidden =
    [
        ("$ref", "$ref is not supported"),
        ("dependencies", "dependencies is not supported"),
        ("definitions", "definitions is not supported"),
        ("id", "id is not supported"),
        ("$schema", "$schema is not supported"),
        ("patternProperties", "patternProperties is not supported"),
        ("additionalItems", "additionalItems is not supported"),
        ("uniqueItems", "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"),
    ];

    /// <summary>
    /// The problems that make <paramref name="schema"/> non-structural (every node has a type, unless it preserves
    /// unknown fields or is int-or-string; properties and additionalProperties exclusive; metadata restricted to
    /// name and generateName at the root; valid patterns; defaults that fit their schema). <paramref name="path"/>
    /// is where the schema sits in the CRD, e.g. <c>spec.versions[0].schema.openAPIV3Schema</c>.
    /// </summary>
    public static List<(string Field, string Message)> Problems(JsonObject schema, string path)
    {
        var problems = new List<(string, string)>();
        if (Type(schema) is { } root && root != "object") problems.Add(($"{path}.type", $"Invalid value: \"{root}\": must be object at the root"));
        Node(schema, path, isRoot: true, problems);
        if (schema["properties"]?["metadata"] is JsonObject meta)
        {
            var at = $"{path}.properties[metadata]";
            if (Type(meta) is { } t && t != "object") problems.Add(($"{at}.type", $"Invalid value: \"{t}\": must be object"));
            if (meta.Any(kv => kv.Key is not ("type" or "properties")) || meta["properties"] is JsonObject p && p.Any(kv => kv.Key is not ("name" or "generateName")))
                problems.Add((at, "Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"));
        }
        return problems;
    }

    static void Node(JsonObject s, string path, bool isRoot, List<(string, string)> problems)
    {
        bool preserve = Flag(s, "x-kubernetes-preserve-unknown-fields");
        bool intOrString = Flag(s, "x-kubernetes-int-or-string");
        var type = Type(s);
        if (s["type"] is JsonValue tv && tv.TryGetValue<string>(out var typeName) && typeName.Length > 0 && !Types.Contains(typeName))
            problems.Add(($"{path}.type", $"Unsupported value: \"{typeName}\": supported values: {string.Join(", ", Types.Select(t => $"\"{t}\""))}"));
        if (s["type"] is { } raw && raw.GetValueKind() != System.Text.Json.JsonValueKind.String)
            problems.Add(($"{path}.type", "Invalid value: must be a string"));
        if (type is null && !preserve && !intOrString)
            problems.Add(($"{path}.type", isRoot ? "Required value: must not be empty at the root" : "Required value: must not be empty for specified object fields"));
        if (intOrString && type is not null)
            problems.Add(($"{path}.type", "Invalid value: \"" + type + "\": must be empty if x-kubernetes-int-or-string is true"));
        if (s["x-kubernetes-preserve-unknown-fields"] is JsonValue p && p.TryGetValue<bool>(out var pv) && !pv)
            problems.Add(($"{path}.x-kubernetes-preserve-unknown-fields", "Invalid value: false: must be true or undefined"));
        if (Flag(s, "x-kubernetes-embedded-resource") && type != "object")
            problems.Add(($"{path}.type", "Required value: must be object if x-kubernetes-embedded-resource is true"));
        foreach (var (name, why) in Forbidden)
            if (s.ContainsKey(name) && !(name == "uniqueItems" && !Flag(s, "uniqueItems")))
                problems.Add(($"{path}.{name}", "Forbidden: " + why));
        if (s["properties"] is JsonObject && s["additionalProperties"] is JsonObject)
            problems.Add(($"{path}.additionalProperties", "Forbidden: additionalProperties and properties are mutual exclusive"));
        if (s["pattern"] is JsonValue pat && pat.TryGetValue<string>(out var pattern) && PatternProblem(pattern) is { } bad)
            problems.Add(($"{path}.pattern", $"Invalid value: \"{pattern}\": must be a valid regular expression, but isn't: {bad}"));
        if (s["properties"] is JsonObject properties)
            foreach (var (name, child) in properties)
            {
                if (child is JsonObject c) Node(c, $"{path}.properties[{name}]", false, problems);
                else problems.Add(($"{path}.properties[{name}]", "Invalid value: must be a schema object"));
            }
        if (s["items"] is JsonObject items) Node(items, $"{path}.items", false, problems);
        else if (s.ContainsKey("items")) problems.Add(($"{path}.items", "Forbidden: items must be a schema object and not an array"));
        else if (type == "array") problems.Add(($"{path}.items", "Required value: must be specified"));
        if (s["additionalProperties"] is JsonObject extra) Node(extra, $"{path}.additionalProperties", false, problems);
        foreach (var combinator in new[] { "allOf", "anyOf", "oneOf" })
            if (s.ContainsKey(combinator) && s[combinator] is not JsonArray) problems.Add(($"{path}.{combinator}", "Invalid value: must be a list of schemas"));
        if (s.ContainsKey("not") && s["not"] is not JsonObject) problems.Add(($"{path}.not", "Invalid value: must be a schema"));
        if (s["default"] is { } d)
        {
            if (isRoot) problems.Add(($"{path}.default", "Forbidden: must not be set at the root"));
            else
            {
                var wrong = new List<SchemaProblem>();
                var copy = d.DeepClone();
                if (copy is JsonObject o) Default(s, o);
                Check(s, copy, "<default>", wrong);
                foreach (var w in wrong) problems.Add(($"{path}.default", w.Field == "<default>" ? w.Message : $"{w.Field}: {w.Message}"));
            }
        }
    }
}
