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
            if (key.StartsWith("$setElementOrder/", StringComparison.Ordinal))
            {
                // Only an order, no list: the live list is put in that order (with a list, MergeList uses it below).
                var name = key["$setElementOrder/".Length..];
                if (!p.ContainsKey(name) && t[name] is JsonArray live && value is JsonArray order && type?.Field(name)?.MergeKey is { } k)
                    t[name] = MergeList(live, [], order, k, type.Field(name)!.Type.Element?.Type);
                continue;
            }
            if (key is "$retainKeys" or "$patch") continue;
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
                t[key] = MergeList(cur, arr, p["$setElementOrder/" + key] as JsonArray, mergeKey, field.Type.Element?.Type);
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

    /// <summary>
    /// Merges a list element-wise by <paramref name="mergeKey"/> (empty: a set of scalars), then orders it as upstream's
    /// strategic merge does: the elements the patch names (in the order of <c>$setElementOrder</c>, else of the patch)
    /// and the live-only elements (in their live order) are merged like two sorted lists by their live positions, so an
    /// element new to the list comes before the live ones, and live elements keep their relative order. A
    /// <c>{"$patch": "replace"}</c> element makes the patch's list the result; <c>$patch: delete</c> removes an element.
    /// </summary>
    static JsonArray MergeList(JsonArray current, JsonArray patch, JsonArray? order, string mergeKey, TypeDef? elementType)
    {
        bool set = mergeKey.Length == 0;
        if (patch.Any(e => e is JsonObject o && o.Count == 1 && Directive(o) == "replace"))
            return new JsonArray(patch.Where(e => !(e is JsonObject o && o.Count == 1 && o.ContainsKey("$patch"))).Select(e => e?.DeepClone()).ToArray());
        JsonNode? Key(JsonNode? e) => set ? e : (e as JsonObject)?[mergeKey];
        int IndexIn(IList<JsonNode?> list, JsonNode? e)
        {
            var k = Key(e);
            for (int i = 0; i < list.Count; i++)
                if (JsonNode.DeepEquals(Key(list[i]), k)) return i;
            return -1;
        }

        var merged = current.Select(n => n?.DeepClone()).ToList();
        var named = new List<JsonNode?>();
        foreach (var item in patch)
        {
            var index = IndexIn(merged, item);
            if (!set && item is JsonObject po)
            {
                if (Directive(po) == "delete") { if (index >= 0) merged.RemoveAt(index); continue; }
                named.Add(item);
                if (index < 0)
                {
                    var added = po.DeepClone().AsObject();
                    added.Remove("$patch");
                    merged.Add(added);
                }
                else merged[index] = Apply(merged[index]?.DeepClone(), po, elementType);
                continue;
            }
            named.Add(item);
            if (index < 0) merged.Add(item?.DeepClone());
        }

        var patchOrder = order is not null ? order.ToList() : named;
        var live = current.ToList();
        var patchItems = merged.Where(e => IndexIn(patchOrder, e) >= 0).OrderBy(e => IndexIn(patchOrder, e)).ToList();
        var liveOnly = merged.Where(e => IndexIn(patchOrder, e) < 0).ToList();
        var result = new JsonArray();
        int l = 0, r = 0;
        while (l < liveOnly.Count || r < patchItems.Count)
        {
            bool takeLive = r >= patchItems.Count
                || l < liveOnly.Count && IndexIn(live, liveOnly[l]) is var li && IndexIn(live, patchItems[r]) is var ri && li >= 0 && ri >= 0 && li < ri;
            result.Add(takeLive ? liveOnly[l++] : patchItems[r++]);
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
}
