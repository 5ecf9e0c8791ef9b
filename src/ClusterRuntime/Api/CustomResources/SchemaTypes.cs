// A custom resource version's structural schema seen as a type of the type table, so that everything that walks types
// (field validation, field managers, server-side apply) treats custom resources as it treats the built-in kinds.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Schema;

namespace Appliance.ClusterRuntime.Api.CustomResources;

/// <summary>Builds the <see cref="TypeDef"/> of a custom resource from its openAPIV3Schema.</summary>
public static class SchemaTypes
{
    /// <summary>
    /// The top-level type of <paramref name="r"/>: <c>apiVersion</c>, <c>kind</c>, <c>metadata</c> (ObjectMeta) and the
    /// schema's other properties. Named as upstream names CRD schemas in OpenAPI, the group reversed
    /// (<c>com.example.stable.v1.CronTab</c>); nested objects are named after their path (<c>CronTab.spec</c>).
    /// A node that keeps unknown fields (<c>x-kubernetes-preserve-unknown-fields</c>), an embedded resource, or an
    /// object without properties is a free object: nothing under it is pruned or typed.
    /// </summary>
    public static TypeDef From(ApiResource r, JsonObject schema)
    {
        var package = string.Join('.', r.Group.Split('.').Reverse()) + "." + r.Version;
        var top = new TypeDef(package, r.Kind) { Description = Text(schema, "description") };
        top.Add(new FieldDef("apiVersion", new FieldType(ValueKind.String), null));
        top.Add(new FieldDef("kind", new FieldType(ValueKind.String), null));
        top.Add(new FieldDef("metadata", new FieldType(ValueKind.Object, TypeCatalog.Get(TypeCatalog.MetaPackage + ".ObjectMeta")), null));
        AddProperties(top, schema, package, r.Kind, skip: ["apiVersion", "kind", "metadata"]);
        return top;
    }

    static void AddProperties(TypeDef t, JsonObject schema, string package, string path, IReadOnlyCollection<string> skip)
    {
        if (schema["properties"] is not JsonObject properties) return;
        var required = schema["required"] is JsonArray req ? req.Select(x => x?.ToString()).ToHashSet() : [];
        foreach (var (name, node) in properties)
        {
            if (skip.Contains(name) || node is not JsonObject property) continue;
            var keys = property["x-kubernetes-list-type"]?.ToString() == "map" && property["x-kubernetes-list-map-keys"] is JsonArray k
                ? k.Select(x => x?.ToString() ?? "").Where(x => x.Length > 0).ToList() : [];
            var mergeKey = keys.Count > 0 ? keys[0] : property["x-kubernetes-list-type"]?.ToString() == "set" ? "" : null;
            t.Add(new FieldDef(name, TypeOf(property, package, $"{path}.{name}"), mergeKey)
            {
                ListMapKeys = keys, Description = Text(property, "description"), Required = required.Contains(name),
            });
        }
    }

    static FieldType TypeOf(JsonObject s, string package, string path)
    {
        if (StructuralSchema.Flag(s, "x-kubernetes-int-or-string")) return new(ValueKind.IntOrString, Format: "int-or-string");
        if (StructuralSchema.Flag(s, "x-kubernetes-preserve-unknown-fields") || StructuralSchema.Flag(s, "x-kubernetes-embedded-resource"))
            return new(ValueKind.FreeObject);
        switch (StructuralSchema.Type(s))
        {
            case "string": return new(ValueKind.String, Format: Text(s, "format"));
            case "integer": return new(ValueKind.Integer, Format: Text(s, "format") ?? "int64");
            case "number": return new(ValueKind.Number, Format: Text(s, "format") ?? "double");
            case "boolean": return new(ValueKind.Boolean);
            case "array":
                return new(ValueKind.Array, Element: s["items"] is JsonObject items ? TypeOf(items, package, path) : new FieldType(ValueKind.FreeObject));
            case "object" when s["properties"] is JsonObject:
                var nested = new TypeDef(package, path) { Description = Text(s, "description") };
                AddProperties(nested, s, package, path, []);
                return new(ValueKind.Object, nested);
            case "object" when s["additionalProperties"] is JsonObject values:
                return new(ValueKind.Map, Element: TypeOf(values, package, path + ".value"));
            default:
                return new(ValueKind.FreeObject);
        }
    }

    static string? Text(JsonObject s, string name) => s[name] is JsonValue v && v.TryGetValue<string>(out var text) && text.Length > 0 ? text : null;
}
