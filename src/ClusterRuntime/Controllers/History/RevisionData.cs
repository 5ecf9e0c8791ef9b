// The bytes a ControllerRevision stores for a DaemonSet or StatefulSet template, and their hash.
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Controllers.History;

/// <summary>
/// As upstream's <c>getPatch</c>: a revision holds the strategic merge patch <c>{"spec":{"template":{"$patch":"replace",...}}}</c>
/// with keys sorted (Go marshals maps sorted), so the same template always gives the same bytes and the same hash,
/// and <c>kubectl rollout undo</c> can apply it as a patch.
/// </summary>
public static class RevisionData
{
    const string Alphanums = "bcdfghjklmnpqrstvwxz2456789";

    /// <summary>The revision data of <paramref name="parent"/>'s <c>spec.template</c>.</summary>
    public static JsonObject Of(JsonObject parent)
    {
        var template = parent["spec"]?["template"] is JsonObject t ? (JsonObject)t.DeepClone() : new JsonObject();
        template["$patch"] = "replace";
        return Canonical(new JsonObject { ["spec"] = new JsonObject { ["template"] = template } })!;
    }

    /// <summary>The template a revision's data holds (without the <c>$patch</c> directive).</summary>
    public static JsonObject Template(JsonObject revision)
    {
        var template = revision["data"]?["spec"]?["template"] is JsonObject t ? (JsonObject)t.DeepClone() : new JsonObject();
        template.Remove("$patch");
        return template;
    }

    /// <summary>The canonical bytes of <paramref name="data"/>: compact JSON with every object's keys sorted.</summary>
    public static byte[] Bytes(JsonNode? data) => Meta.ToBytes(Canonical(data) ?? new JsonObject());

    /// <summary>
    /// Upstream's <c>HashControllerRevision</c>: FNV-1 32 of the data bytes, then of the collision count in decimal
    /// when given, written in decimal and mapped onto the vowel-free alphabet of <c>rand.SafeEncodeString</c>.
    /// </summary>
    public static string Hash(JsonNode? data, int? collisionCount)
    {
        uint h = 2166136261;
        void Add(ReadOnlySpan<byte> bytes)
        {
            foreach (var b in bytes) { h *= 16777619; h ^= b; }
        }
        Add(Bytes(data));
        if (collisionCount is int c) Add(Encoding.ASCII.GetBytes(c.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var digits = h.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var sb = new StringBuilder(digits.Length);
        foreach (var ch in digits) sb.Append(Alphanums[ch % Alphanums.Length]);
        return sb.ToString();
    }

    /// <summary>True when two revision datas hold the same template.</summary>
    public static bool Equal(JsonNode? a, JsonNode? b) => Bytes(a).AsSpan().SequenceEqual(Bytes(b));

    static T? Canonical<T>(T? node) where T : JsonNode => (T?)CanonicalNode(node);

    static JsonNode? CanonicalNode(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => KeyValuePair.Create(kv.Key, CanonicalNode(kv.Value)))),
        JsonArray a => new JsonArray(a.Select(CanonicalNode).ToArray()),
        null => null,
        _ => node.DeepClone(),
    };
}
