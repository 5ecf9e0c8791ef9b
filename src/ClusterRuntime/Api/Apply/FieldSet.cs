// A set of field paths as structured-merge-diff keeps it, with its FieldsV1 encoding (metadata.managedFields[].fieldsV1).
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.Apply;

/// <summary>
/// A tree of path elements: <c>f:name</c> (a field), <c>k:{"name":"x"}</c> (a list element by its keys),
/// <c>v:"x"</c> (a set element by its value), <c>i:0</c> (an index). A node is a <see cref="Member"/> when the path
/// ending there is in the set; FieldsV1 writes a member that also has children as <c>".": {}</c>.
/// </summary>
public sealed class FieldSet
{
    readonly SortedDictionary<string, FieldSet> _children = new(StringComparer.Ordinal);

    /// <summary>True when the path to this node is itself in the set.</summary>
    public bool Member { get; set; }

    /// <summary>The child nodes by path element.</summary>
    public IReadOnlyDictionary<string, FieldSet> Children => _children;

    /// <summary>True when no path is in the set.</summary>
    public bool IsEmpty => !Member && _children.Values.All(c => c.IsEmpty);

    /// <summary>The child for <paramref name="element"/>, added when missing.</summary>
    public FieldSet Child(string element)
    {
        if (!_children.TryGetValue(element, out var c)) _children[element] = c = new FieldSet();
        return c;
    }

    /// <summary>Adds one path.</summary>
    public void Add(IReadOnlyList<string> path)
    {
        var node = this;
        foreach (var e in path) node = node.Child(e);
        node.Member = true;
    }

    /// <summary>True when <paramref name="path"/> is in the set.</summary>
    public bool Contains(IReadOnlyList<string> path) => Find(path)?.Member == true;

    /// <summary>True when <paramref name="path"/> or any path below it is in the set.</summary>
    public bool ContainsAtOrBelow(IReadOnlyList<string> path) => Find(path) is { } n && !n.IsEmpty;

    FieldSet? Find(IReadOnlyList<string> path)
    {
        var node = this;
        foreach (var e in path)
            if (!node._children.TryGetValue(e, out node!)) return null;
        return node;
    }

    /// <summary>Every path in the set, parents before children, and whether it is a leaf (no path of the set below it).</summary>
    public List<(List<string> Path, bool Leaf)> Paths()
    {
        var result = new List<(List<string>, bool)>();
        Collect(this, [], result);
        return result;
    }

    static void Collect(FieldSet node, List<string> prefix, List<(List<string>, bool)> into)
    {
        if (node.Member && prefix.Count > 0) into.Add(([.. prefix], node._children.Values.All(c => c.IsEmpty)));
        foreach (var (e, c) in node._children)
        {
            prefix.Add(e);
            Collect(c, prefix, into);
            prefix.RemoveAt(prefix.Count - 1);
        }
    }

    /// <summary>The paths in this set or in <paramref name="other"/>.</summary>
    public FieldSet Union(FieldSet other) => Combine(this, other, (a, b) => a || b);

    /// <summary>The paths in this set and not in <paramref name="other"/>.</summary>
    public FieldSet Difference(FieldSet other) => Combine(this, other, (a, b) => a && !b);

    /// <summary>The paths in both sets.</summary>
    public FieldSet Intersection(FieldSet other) => Combine(this, other, (a, b) => a && b);

    static FieldSet Combine(FieldSet? a, FieldSet? b, Func<bool, bool, bool> keep)
    {
        var result = new FieldSet { Member = keep(a?.Member == true, b?.Member == true) };
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        if (a is not null) keys.UnionWith(a._children.Keys);
        if (b is not null) keys.UnionWith(b._children.Keys);
        foreach (var k in keys)
        {
            var c = Combine(a?._children.GetValueOrDefault(k), b?._children.GetValueOrDefault(k), keep);
            if (!c.IsEmpty) result._children[k] = c;
        }
        return result;
    }

    /// <summary>The paths of this set that start with <paramref name="element"/>.</summary>
    public FieldSet Only(string element)
    {
        var result = new FieldSet();
        if (_children.TryGetValue(element, out var c)) result._children[element] = c.Union(new FieldSet());
        return result;
    }

    /// <summary>True when both sets hold the same paths.</summary>
    public bool SameAs(FieldSet other) => Difference(other).IsEmpty && other.Difference(this).IsEmpty;

    /// <summary>The FieldsV1 object.</summary>
    public JsonObject ToFieldsV1()
    {
        var obj = new JsonObject();
        if (Member && _children.Count > 0) obj["."] = new JsonObject();
        foreach (var (e, c) in _children)
            if (!c.IsEmpty) obj[e] = c.ToFieldsV1();
        return obj;
    }

    /// <summary>Reads a FieldsV1 object; <see cref="InvalidDataException"/> when it is not one.</summary>
    public static FieldSet FromFieldsV1(JsonNode? node)
    {
        var set = new FieldSet();
        if (node is not JsonObject obj) throw new InvalidDataException("fieldsV1 is not an object");
        Read(obj, set);
        return set;
    }

    static void Read(JsonObject obj, FieldSet into)
    {
        foreach (var (e, v) in obj)
        {
            if (v is not JsonObject child) throw new InvalidDataException($"fieldsV1: the value of \"{e}\" is not an object");
            if (e == ".") { into.Member = true; continue; }
            if (e.Length < 2 || e[1] != ':' || e[0] is not ('f' or 'k' or 'v' or 'i'))
                throw new InvalidDataException($"fieldsV1: \"{e}\" is not a path element (f:, k:, v:, i:)");
            var c = into.Child(e);
            if (child.Count == 0) c.Member = true;
            else Read(child, c);
        }
    }

    /// <summary>A path as upstream prints it in conflicts: <c>.spec.containers[name="app"].image</c>, <c>.metadata.finalizers[="x"]</c>.</summary>
    public static string Describe(IEnumerable<string> path)
    {
        var text = new StringBuilder();
        foreach (var e in path)
        {
            var rest = e[2..];
            switch (e[0])
            {
                case 'f': text.Append('.').Append(rest); break;
                case 'i': text.Append('[').Append(rest).Append(']'); break;
                case 'v': text.Append("[=").Append(rest).Append(']'); break;
                default:
                    var keys = JsonNode.Parse(rest)!.AsObject();
                    text.Append('[').AppendJoin(",", keys.Select(k => $"{k.Key}={k.Value?.ToJsonString() ?? "null"}")).Append(']');
                    break;
            }
        }
        return text.ToString();
    }

    /// <summary>The <c>v:</c> element of a set value (its compact JSON).</summary>
    public static string ValueElement(JsonNode? value) => "v:" + (value?.ToJsonString(Storage.Meta.Json) ?? "null");

    /// <summary>The <c>k:</c> element of a list element with these key values (in key order).</summary>
    public static string KeyElement(IEnumerable<(string Key, JsonNode? Value)> keys)
    {
        var obj = new JsonObject();
        foreach (var (k, v) in keys) obj[k] = v?.DeepClone();
        return "k:" + obj.ToJsonString(Storage.Meta.Json);
    }

    /// <summary>Reads the key values back from a <c>k:</c> element.</summary>
    public static JsonObject KeysOf(string element)
    {
        try { return JsonNode.Parse(element[2..]) as JsonObject ?? throw new InvalidDataException($"{element}: the keys are not an object"); }
        catch (JsonException e) { throw new InvalidDataException($"{element}: {e.Message}"); }
    }
}
