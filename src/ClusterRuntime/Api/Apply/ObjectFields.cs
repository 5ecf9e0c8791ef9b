// Objects seen as field sets: the set of an object, lookup and removal by path, and the apply merge, all along the type table.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Schema;

namespace Appliance.ClusterRuntime.Api.Apply;

/// <summary>
/// How a value is merged and tracked: its type from the table (null: not described, merged as plain JSON maps with
/// atomic lists) and, for a list, its keys: null for an atomic list (replaced whole, tracked as one field), empty for a
/// set of scalars (<c>v:</c> elements), else the list-map keys (<c>k:</c> elements).
/// </summary>
readonly record struct Shape(FieldType? Type, string[]? Keys)
{
    /// <summary>Types upstream marks <c>+structType=atomic</c>: tracked and replaced as one field.</summary>
    static readonly HashSet<string> AtomicTypes = [TypeCatalog.MetaPackage + ".LabelSelector", TypeCatalog.CorePackage + ".NodeSelector"];

    /// <summary>
    /// Lists whose upstream <c>x-kubernetes-list-map-keys</c> are more than the strategic merge key of the table
    /// (<see cref="FieldDef.MergeKey"/>); the protocol key defaults to TCP, as upstream's schema default fills it.
    /// </summary>
    static readonly Dictionary<(string Type, string Field), string[]> ExtraKeys = new()
    {
        [(TypeCatalog.CorePackage + ".Container", "ports")] = ["containerPort", "protocol"],
        [(TypeCatalog.CorePackage + ".EphemeralContainer", "ports")] = ["containerPort", "protocol"],
        [(TypeCatalog.CorePackage + ".ServiceSpec", "ports")] = ["port", "protocol"],
    };

    /// <summary>The default of a list-map key missing from an element, or null.</summary>
    public static JsonNode? KeyDefault(string key) => key == "protocol" ? JsonValue.Create("TCP") : null;

    public static Shape Of(TypeDef t) => new(new FieldType(ValueKind.Object, t), null);

    public bool Atomic => Type is { Kind: ValueKind.Object, Type: { } t } && AtomicTypes.Contains(t.FullName);

    public Shape Child(string name)
    {
        if (Type is { Kind: ValueKind.Object, Type: { } owner })
        {
            var f = owner.Field(name);
            if (f is null) return default;
            string[]? keys = f.MergeKey is null ? null
                : ExtraKeys.TryGetValue((owner.FullName, name), out var extra) ? extra
                : f.MergeKey.Length == 0 ? [] : [f.MergeKey];
            return new(f.Type, keys);
        }
        return Type is { Kind: ValueKind.Map } ? new(Type.Element, null) : default;
    }

    public Shape Element => new(Type?.Element, null);
}

/// <summary>Field sets of objects, and the changes apply makes to objects by path.</summary>
static class ObjectFields
{
    /// <summary>
    /// The fields <paramref name="obj"/> sets. As upstream: list elements are members (<c>.</c>) with their fields; with
    /// <paramref name="withMaps"/> (the sets of updates, computed by comparing objects) maps are members too.
    /// </summary>
    public static FieldSet Of(JsonObject obj, TypeDef type, bool withMaps)
    {
        var set = new FieldSet();
        Walk(obj, Shape.Of(type), set, withMaps, root: true);
        return set;
    }

    static void Walk(JsonNode? node, Shape s, FieldSet into, bool withMaps, bool root = false)
    {
        switch (node)
        {
            case JsonObject o when o.Count == 0 || s.Atomic:
                into.Member = true;
                break;
            case JsonObject o:
                if (withMaps && !root && s.Type?.Kind is null or ValueKind.Map or ValueKind.FreeObject) into.Member = true;
                foreach (var (k, v) in o) Walk(v, s.Child(k), into.Child("f:" + k), withMaps);
                break;
            case JsonArray a when s.Keys is null || a.Count == 0:
                into.Member = true;
                break;
            case JsonArray a when s.Keys.Length == 0:
                foreach (var v in a) into.Child(FieldSet.ValueElement(v)).Member = true;
                break;
            case JsonArray a:
                if (a.Any(e => e is not JsonObject)) { into.Member = true; break; }
                foreach (var e in a)
                {
                    var child = into.Child(KeyElement(e!.AsObject(), s.Keys));
                    child.Member = true;
                    foreach (var (k, v) in e.AsObject()) Walk(v, s.Element.Child(k), child.Child("f:" + k), withMaps);
                }
                break;
            default:
                into.Member = true;
                break;
        }
    }

    static string KeyElement(JsonObject element, string[] keys) =>
        FieldSet.KeyElement(keys.Order(StringComparer.Ordinal).Select(k => (k, element[k] ?? Shape.KeyDefault(k))).Where(p => p.Item2 is not null));

    /// <summary>The value at <paramref name="path"/>, and whether it is there.</summary>
    public static bool TryGet(JsonNode? root, IReadOnlyList<string> path, out JsonNode? value)
    {
        value = root;
        foreach (var e in path)
        {
            if (!TryStep(value, e, out var next, out _)) { value = null; return false; }
            value = next;
        }
        return true;
    }

    static bool TryStep(JsonNode? node, string e, out JsonNode? next, out int index)
    {
        next = null;
        index = -1;
        switch (e[0])
        {
            case 'f':
                if (node is not JsonObject o || !o.TryGetPropertyValue(e[2..], out next)) return false;
                return true;
            case 'i':
                if (node is not JsonArray ia || !int.TryParse(e[2..], out index) || index < 0 || index >= ia.Count) return false;
                next = ia[index];
                return true;
            case 'v':
                if (node is not JsonArray va) return false;
                index = va.ToList().FindIndex(v => FieldSet.ValueElement(v) == e);
                if (index < 0) return false;
                next = va[index];
                return true;
            default:
                if (node is not JsonArray ka) return false;
                var keys = FieldSet.KeysOf(e);
                index = ka.ToList().FindIndex(v => v is JsonObject eo && keys.All(k => JsonNode.DeepEquals(eo[k.Key] ?? Shape.KeyDefault(k.Key), k.Value)));
                if (index < 0) return false;
                next = ka[index];
                return true;
        }
    }

    /// <summary>
    /// Removes the value at <paramref name="path"/>; objects left empty by the removal go too, as Go leaves out empty
    /// maps (the top level and its direct fields stay).
    /// </summary>
    public static void Remove(JsonObject root, IReadOnlyList<string> path)
    {
        var parents = new List<JsonNode?> { root };
        JsonNode? node = root;
        var steps = new List<int>();
        foreach (var e in path)
        {
            if (!TryStep(node, e, out var next, out var index)) return;
            steps.Add(index);
            node = next;
            parents.Add(node);
        }
        for (int i = path.Count - 1; i >= 0; i--)
        {
            var parent = parents[i];
            if (parent is JsonObject po) po.Remove(path[i][2..]);
            else if (parent is JsonArray pa) pa.RemoveAt(steps[i]);
            if (i <= 1 || parent is not JsonObject { Count: 0 }) break;
        }
    }

    /// <summary>
    /// The apply merge: <paramref name="config"/> over <paramref name="live"/>. Objects merge field by field, list maps
    /// element by element (by their keys), sets by value; atomic lists and structs are replaced; null removes.
    /// </summary>
    public static JsonObject Merge(JsonObject live, JsonObject config, TypeDef type) =>
        (JsonObject)Merge(live, config, Shape.Of(type))!;

    static JsonNode? Merge(JsonNode? live, JsonNode? cfg, Shape s)
    {
        if (cfg is JsonObject co && live is JsonObject lo && !s.Atomic)
        {
            var result = lo.DeepClone().AsObject();
            foreach (var (k, v) in co)
            {
                if (v is null) { result.Remove(k); continue; }
                result[k] = Merge(lo[k], v, s.Child(k));
            }
            return result;
        }
        if (cfg is JsonArray ca && live is JsonArray la && s.Keys is { } keys)
        {
            var result = new JsonArray(la.Select(n => n?.DeepClone()).ToArray());
            foreach (var item in ca)
            {
                string element = keys.Length == 0 || item is not JsonObject io ? FieldSet.ValueElement(item) : KeyElement(io, keys);
                if (TryStep(result, element, out var existing, out var index))
                {
                    if (keys.Length > 0) result[index] = Merge(existing, item, s.Element);
                }
                else result.Add(item?.DeepClone());
            }
            return result;
        }
        return cfg?.DeepClone();
    }
}
