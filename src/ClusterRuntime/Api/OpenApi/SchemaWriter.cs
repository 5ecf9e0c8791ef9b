// Turns the type table into OpenAPI schemas, in the v2 (definitions) or v3 (components.schemas) dialect.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Schema;

namespace Appliance.ClusterRuntime.Api.OpenApi;

/// <summary>Where references point and how a described reference is written.</summary>
/// <param name="RefPrefix"><c>#/definitions/</c> (v2) or <c>#/components/schemas/</c> (v3).</param>
/// <param name="V3">v3 wraps a reference that has siblings in <c>allOf</c>, as upstream does; v2 writes them side by side.</param>
public sealed record Dialect(string RefPrefix, bool V3)
{
    /// <summary>Swagger 2.0.</summary>
    public static readonly Dialect V2Doc = new("#/definitions/", false);

    /// <summary>OpenAPI 3.0.</summary>
    public static readonly Dialect V3Doc = new("#/components/schemas/", true);
}

/// <summary>
/// Writes the schema of each named type from <see cref="TypeCatalog"/>: properties with types and formats, references,
/// descriptions, <c>required</c>, the strategic-merge and list-map extensions of keyed lists, and the group/version/kind
/// of top-level types. The few types the table does not hold (IntOrString, Quantity, the List kinds) are written here
/// from the same rules.
/// </summary>
public static class SchemaWriter
{
    /// <summary>The definition name of intstr.IntOrString.</summary>
    public const string IntOrString = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";

    /// <summary>The definition name of resource.Quantity.</summary>
    public const string Quantity = "io.k8s.apimachinery.pkg.api.resource.Quantity";

    /// <summary>The definition name of a resource's list type, e.g. <c>io.k8s.api.apps.v1.DeploymentList</c>.</summary>
    public static string ListName(ApiResource r) => TypeCatalog.For(r).FullName + "List";

    /// <summary>The group/version/kind of a served resource's top-level type, and of its list type.</summary>
    public static JsonObject Gvk(string group, string version, string kind) =>
        new() { ["group"] = group, ["kind"] = kind, ["version"] = version };

    /// <summary>
    /// The schemas for <paramref name="resources"/> and every type they reach, by definition name, sorted; each
    /// top-level type and list carries its <c>x-kubernetes-group-version-kind</c>.
    /// </summary>
    public static SortedDictionary<string, JsonObject> Definitions(IEnumerable<ApiResource> resources, Dialect d, IEnumerable<TypeDef> extra)
    {
        var kinds = new Dictionary<string, List<JsonObject>>(StringComparer.Ordinal);
        var roots = new List<TypeDef>(extra);
        var lists = new List<ApiResource>();
        foreach (var r in resources)
        {
            var t = TypeCatalog.For(r);
            roots.Add(t);
            lists.Add(r);
            AddGvk(kinds, t.FullName, Gvk(r.Group, r.Version, r.Kind));
            AddGvk(kinds, ListName(r), Gvk(r.Group, r.Version, r.ListKind));
            if (r.HasScale) AddGvk(kinds, ScaleType.FullName, Gvk("autoscaling", "v1", "Scale"));
        }
        var defs = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
        var reached = Reach(roots).ToList();
        foreach (var t in reached) defs[t.FullName] = Object(t, d);
        if (Uses(reached, ValueKind.IntOrString)) defs[IntOrString] = IntOrStringSchema(d);
        if (Uses(reached, ValueKind.Quantity)) defs[Quantity] = QuantitySchema(d);
        foreach (var r in lists) defs[ListName(r)] = List(r, d);
        foreach (var (name, gvks) in kinds)
            if (defs.TryGetValue(name, out var s)) s["x-kubernetes-group-version-kind"] = new JsonArray([.. gvks.DistinctBy(g => g.ToJsonString())]);
        return defs;
    }

    /// <summary>autoscaling/v1 Scale, the body of every <c>/scale</c> subresource.</summary>
    public static TypeDef ScaleType => TypeCatalog.Get("io.k8s.api.autoscaling.v1.Scale");

    static void AddGvk(Dictionary<string, List<JsonObject>> kinds, string name, JsonObject gvk)
    {
        if (!kinds.TryGetValue(name, out var list)) kinds[name] = list = [];
        list.Add(gvk);
    }

    /// <summary>The types reachable from <paramref name="roots"/> through their fields, each once.</summary>
    public static IEnumerable<TypeDef> Reach(IEnumerable<TypeDef> roots)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<TypeDef>(roots);
        while (stack.Count > 0)
        {
            var t = stack.Pop();
            if (!seen.Add(t.FullName)) continue;
            yield return t;
            foreach (var f in t.Fields)
                for (FieldType? ft = f.Type; ft is not null; ft = ft.Element)
                    if (ft.Type is { } named) stack.Push(named);
        }
    }

    static bool Uses(IEnumerable<TypeDef> types, ValueKind kind) =>
        types.Any(t => t.Fields.Any(f => ValueKinds(f.Type).Contains(kind)));

    static IEnumerable<ValueKind> ValueKinds(FieldType t)
    {
        for (FieldType? ft = t; ft is not null; ft = ft.Element) yield return ft.Kind;
    }

    /// <summary>The schema of one named type.</summary>
    public static JsonObject Object(TypeDef t, Dialect d)
    {
        var schema = new JsonObject();
        if (t.Description is { } text) schema["description"] = text;
        schema["type"] = "object";
        if (t.Fields.Count > 0)
        {
            var props = new JsonObject();
            foreach (var f in t.Fields) props[f.Name] = Property(f, d);
            schema["properties"] = props;
        }
        var required = t.Fields.Where(f => f.Required).Select(f => (JsonNode)f.Name).ToArray();
        if (required.Length > 0) schema["required"] = new JsonArray(required);
        return schema;
    }

    static JsonObject Property(FieldDef f, Dialect d)
    {
        var schema = Value(f.Type, d);
        if (f.MergeKey is { } key)
        {
            if (key.Length > 0) schema["x-kubernetes-patch-merge-key"] = key;
            schema["x-kubernetes-patch-strategy"] = "merge";
            if (f.ListMapKeys.Count > 0)
            {
                schema["x-kubernetes-list-type"] = "map";
                schema["x-kubernetes-list-map-keys"] = new JsonArray([.. f.ListMapKeys.Select(k => (JsonNode)k)]);
            }
            else schema["x-kubernetes-list-type"] = "set";
        }
        if (f.Description is not { } text) return schema;
        if (schema.ContainsKey("$ref"))
        {
            if (!d.V3) return new JsonObject { ["$ref"] = schema["$ref"]!.DeepClone(), ["description"] = text };
            return new JsonObject { ["allOf"] = new JsonArray(schema), ["description"] = text };
        }
        schema["description"] = text;
        return schema;
    }

    static JsonObject Value(FieldType t, Dialect d) => t.Kind switch
    {
        ValueKind.String => new JsonObject { ["type"] = "string" },
        ValueKind.Time or ValueKind.Bytes or ValueKind.Integer or ValueKind.Number =>
            new JsonObject { ["type"] = t.Expected, ["format"] = t.Format },
        ValueKind.Boolean => new JsonObject { ["type"] = "boolean" },
        ValueKind.IntOrString => Ref(IntOrString, d),
        ValueKind.Quantity => Ref(Quantity, d),
        ValueKind.Object => Ref(t.Type!.FullName, d),
        ValueKind.Array => new JsonObject { ["type"] = "array", ["items"] = Value(t.Element!, d) },
        ValueKind.Map => new JsonObject { ["type"] = "object", ["additionalProperties"] = Value(t.Element!, d) },
        _ => new JsonObject { ["type"] = "object" },
    };

    /// <summary>A reference to a named schema.</summary>
    public static JsonObject Ref(string name, Dialect d) => new() { ["$ref"] = d.RefPrefix + name };

    static JsonObject IntOrStringSchema(Dialect d)
    {
        const string text = "A value that is either an integer or a string, such as a port number or a port name, or a count or a percentage.";
        if (!d.V3) return new JsonObject { ["description"] = text, ["type"] = "string", ["format"] = "int-or-string" };
        return new JsonObject
        {
            ["description"] = text, ["format"] = "int-or-string", ["x-kubernetes-int-or-string"] = true,
            ["oneOf"] = new JsonArray(new JsonObject { ["type"] = "integer" }, new JsonObject { ["type"] = "string" }),
        };
    }

    static JsonObject QuantitySchema(Dialect d)
    {
        const string text = "An amount of a resource, written as a number with an optional suffix such as 100m, 1.5, 2Gi or 1e3.";
        if (!d.V3) return new JsonObject { ["description"] = text, ["type"] = "string" };
        return new JsonObject
        {
            ["description"] = text,
            ["oneOf"] = new JsonArray(new JsonObject { ["type"] = "string" }, new JsonObject { ["type"] = "number" }),
        };
    }

    static JsonObject List(ApiResource r, Dialect d) => new()
    {
        ["description"] = $"A list of {r.Kind} objects.",
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["apiVersion"] = new JsonObject { ["type"] = "string", ["description"] = TypeDocs.Field("TypeMeta", "apiVersion") },
            ["items"] = new JsonObject { ["type"] = "array", ["items"] = Ref(TypeCatalog.For(r).FullName, d), ["description"] = $"The {r.Kind} objects." },
            ["kind"] = new JsonObject { ["type"] = "string", ["description"] = TypeDocs.Field("TypeMeta", "kind") },
            ["metadata"] = Property(new FieldDef("metadata", new FieldType(ValueKind.Object, TypeCatalog.Get(TypeCatalog.MetaPackage + ".ListMeta")), null)
            {
                Description = TypeDocs.Type("ListMeta"),
            }, d),
        },
        ["required"] = new JsonArray("items"),
    };
}
