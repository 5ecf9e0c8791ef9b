// RFC 7386 JSON merge patch (application/merge-patch+json).
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.Patch;

/// <summary>Applies RFC 7386 merge patches.</summary>
public static class JsonMergePatch
{
    /// <summary>Returns <paramref name="target"/> patched by <paramref name="patch"/> (target is modified in place when it is an object).</summary>
    public static JsonNode? Apply(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject p) return patch?.DeepClone();
        var t = target as JsonObject ?? new JsonObject();
        foreach (var (key, value) in p)
        {
            if (value is null) t.Remove(key);
            else t[key] = Apply(t[key]?.DeepClone(), value);
        }
        return t;
    }
}
