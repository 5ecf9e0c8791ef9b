// RFC 6902 JSON patch (application/json-patch+json): add, remove, replace, move, copy, test.
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.Patch;

/// <summary>Applies RFC 6902 patches; a failing operation is a 422 with the operation index.</summary>
public static class JsonPatch
{
    /// <summary>Applies <paramref name="ops"/> to <paramref name="doc"/> and returns the result.</summary>
    public static JsonNode Apply(JsonNode doc, JsonArray ops)
    {
        var root = new JsonObject { ["r"] = doc.DeepClone() };
        for (int i = 0; i < ops.Count; i++)
        {
            if (ops[i] is not JsonObject op) throw Fail(i, "operation is not an object");
            var name = Member(op, "op", i);
            var path = Member(op, "path", i);
            switch (name)
            {
                case "add": Add(root, path, op["value"]?.DeepClone(), i); break;
                case "remove": Remove(root, path, i); break;
                case "replace": Remove(root, path, i); Add(root, path, op["value"]?.DeepClone(), i); break;
                case "move":
                {
                    var from = Member(op, "from", i);
                    var v = Get(root, from, i);
                    Remove(root, from, i);
                    Add(root, path, v, i);
                    break;
                }
                case "copy":
                {
                    var from = Member(op, "from", i);
                    Add(root, path, Get(root, from, i)?.DeepClone(), i);
                    break;
                }
                case "test":
                    if (!JsonNode.DeepEquals(Get(root, path, i), op["value"])) throw Fail(i, $"test failed at {path}");
                    break;
                default: throw Fail(i, $"unknown op \"{name}\"");
            }
        }
        return root["r"]!.DeepClone();
    }

    /// <summary>A string member of operation <paramref name="i"/>: missing or not a string is a 422 naming it.</summary>
    static string Member(JsonObject op, string name, int i) => op[name] switch
    {
        null => throw Fail(i, $"missing \"{name}\""),
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => throw Fail(i, $"\"{name}\" must be a string"),
    };

    static ApiException Fail(int index, string message) =>
        new(422, "Invalid", $"the JSON patch operation {index} cannot be applied: {message}");

    static List<string> Tokens(string path, int i)
    {
        if (path.Length == 0) return ["r"];
        if (path[0] != '/') throw Fail(i, $"path \"{path}\" does not start with '/'");
        var list = new List<string> { "r" };
        list.AddRange(path[1..].Split('/').Select(t => t.Replace("~1", "/").Replace("~0", "~")));
        return list;
    }

    static (JsonNode Parent, string Last) Parent(JsonObject root, string path, int i)
    {
        var tokens = Tokens(path, i);
        JsonNode node = root;
        foreach (var t in tokens.Take(tokens.Count - 1))
            node = Child(node, t, i) ?? throw Fail(i, $"path \"{path}\" does not exist");
        return (node, tokens[^1]);
    }

    static JsonNode? Child(JsonNode node, string token, int i) => node switch
    {
        JsonObject o => o[token],
        JsonArray a when int.TryParse(token, out var n) && n >= 0 && n < a.Count => a[n],
        _ => null,
    };

    static JsonNode? Get(JsonObject root, string path, int i)
    {
        var (parent, last) = Parent(root, path, i);
        return Child(parent, last, i);
    }

    static void Add(JsonObject root, string path, JsonNode? value, int i)
    {
        var (parent, last) = Parent(root, path, i);
        switch (parent)
        {
            case JsonObject o: o[last] = value; break;
            case JsonArray a when last == "-": a.Add(value); break;
            case JsonArray a when int.TryParse(last, out var n) && n >= 0 && n <= a.Count: a.Insert(n, value); break;
            default: throw Fail(i, $"cannot add at \"{path}\"");
        }
    }

    static void Remove(JsonObject root, string path, int i)
    {
        var (parent, last) = Parent(root, path, i);
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(last): o.Remove(last); break;
            case JsonArray a when int.TryParse(last, out var n) && n >= 0 && n < a.Count: a.RemoveAt(n); break;
            default: throw Fail(i, $"path \"{path}\" does not exist");
        }
    }
}
