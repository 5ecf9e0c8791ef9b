// Strategic merge patch: merge patch plus merge-by-key lists and $patch/$retainKeys/$setElementOrder directives.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Schema;

namespace Appliance.ClusterRuntime.Api.Patch;

/// <summary>
/// A strategic merge patch for the built-in types. Lists whose field carries a merge key in the type table
/// (<see cref="FieldDef.MergeKey"/>, Go's <c>patchMergeKey</c> tag) merge element-wise by that key, lists of scalars
/// marked as sets merge as sets; other lists are replaced, as in a merge patch.
/// </summary>
public static class StrategicMergePatch
{
    /// <summary>Applies <paramref name="patch"/> to <paramref name="target"/>, an object of <paramref name="type"/> (null: not described, lists replaced).</summary>
    public static JsonNode? Apply(JsonNode? target, JsonNode? patch, TypeDef? type)
    {
        if (patch is not JsonObject p) return patch?.DeepClone();
        var directive = Directive(p);
        if (directive is "replace")
        {
            var copy = p.DeepClone().AsObject();
            copy.Remove("$patch");
            return copy;
        }
        if (directive is "delete") return null;
        var t = target as JsonObject ?? new JsonObject();
        var retainKeys = p["$retainKeys"] switch
        {
            null => null,
            JsonArray a => a,
            var other => throw ApiException.BadRequest($"invalid $retainKeys: {other.ToJsonString()}: expected a list of field names"),
        };
        foreach (var (key, value) in p)
        {
            if (key.StartsWith("$setElementOrder/", StringComparison.Ordinal) || key is "$retainKeys" or "$patch") continue;
            if (key.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal))
            {
                var list = key["$deleteFromPrimitiveList/".Length..];
                if (t[list] is JsonArray existing && value is JsonArray remove)
                    foreach (var r in remove)
                        for (int i = existing.Count - 1; i >= 0; i--)
                            if (JsonNode.DeepEquals(existing[i], r)) existing.RemoveAt(i);
                continue;
            }
            if (value is null) { t.Remove(key); continue; }
            var field = type?.Field(key);
            if (value is JsonArray arr && t[key] is JsonArray cur && field?.MergeKey is { } mergeKey)
            {
                t[key] = mergeKey.Length == 0 ? MergeSet(cur, arr) : MergeByKey(cur, arr, mergeKey, field.Type.Element?.Type);
                continue;
            }
            var merged = Apply(t[key]?.DeepClone(), value, field?.Type.Kind == ValueKind.Object ? field.Type.Type : null);
            if (merged is null) t.Remove(key); else t[key] = merged;
        }
        if (retainKeys is not null)
        {
            var keep = retainKeys.Select(n => n is JsonValue v && v.TryGetValue<string>(out var s) ? s
                : throw ApiException.BadRequest($"invalid $retainKeys: {retainKeys.ToJsonString()}: the entries must be field names")).ToHashSet();
            foreach (var k in t.Select(kv => kv.Key).ToList())
                if (!keep.Contains(k)) t.Remove(k);
        }
        return t;
    }

    static JsonArray MergeByKey(JsonArray current, JsonArray patch, string mergeKey, TypeDef? elementType)
    {
        var result = new JsonArray(current.Select(n => n?.DeepClone()).ToArray());
        foreach (var item in patch)
        {
            if (item is not JsonObject po) { result.Add(item?.DeepClone()); continue; }
            var keyValue = po[mergeKey];
            int index = -1;
            for (int i = 0; i < result.Count; i++)
                if (result[i] is JsonObject ro && JsonNode.DeepEquals(ro[mergeKey], keyValue)) { index = i; break; }
            var directive = Directive(po);
            if (directive == "delete") { if (index >= 0) result.RemoveAt(index); continue; }
            if (index < 0)
            {
                var added = po.DeepClone().AsObject();
                added.Remove("$patch");
                result.Add((JsonNode)added);
            }
            else result[index] = Apply(result[index]?.DeepClone(), po, elementType);
        }
        return result;
    }

    /// <summary>The <c>$patch</c> directive of a patch object, or null; 400 when it is not one of replace, merge, delete.</summary>
    static string? Directive(JsonObject patch) => patch["$patch"] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) && s is "replace" or "merge" or "delete" => s,
        var other => throw ApiException.BadRequest($"invalid $patch directive {other.ToJsonString()}: expected \"replace\", \"merge\" or \"delete\""),
    };

    static JsonArray MergeSet(JsonArray current, JsonArray patch)
    {
        var result = new JsonArray(current.Select(n => n?.DeepClone()).ToArray());
        foreach (var item in patch)
            if (!result.Any(r => JsonNode.DeepEquals(r, item))) result.Add(item?.DeepClone());
        return result;
    }
}
