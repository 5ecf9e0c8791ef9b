// Accessors for the metadata of objects held as JsonObject.
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.Storage;

/// <summary>Helpers to read and write <c>metadata</c> fields.</summary>
public static class Meta
{
    /// <summary>Serializer options used for everything the server writes.</summary>
    public static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writer options matching <see cref="Json"/>.</summary>
    public static readonly JsonWriterOptions Writer = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    /// <summary>The metadata object, created when missing.</summary>
    public static JsonObject Of(JsonObject obj)
    {
        if (obj["metadata"] is JsonObject m) return m;
        m = new JsonObject();
        obj["metadata"] = m;
        return m;
    }

    /// <summary>A string field of metadata, or null.</summary>
    public static string? Str(JsonObject obj, string field) =>
        obj["metadata"] is JsonObject m && m[field] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>metadata.name.</summary>
    public static string? Name(JsonObject obj) => Str(obj, "name");

    /// <summary>metadata.namespace.</summary>
    public static string? Namespace(JsonObject obj) => Str(obj, "namespace");

    /// <summary>One label, or null.</summary>
    public static string? Label(JsonObject obj, string key) =>
        obj["metadata"] is JsonObject m && m["labels"] is JsonObject l && l[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>The finalizers, empty when none.</summary>
    public static List<string> Finalizers(JsonObject obj) =>
        obj["metadata"] is JsonObject m && m["finalizers"] is JsonArray a
            ? a.Select(n => n?.GetValue<string>() ?? "").Where(s => s.Length > 0).ToList()
            : [];

    /// <summary>Parses bytes into a JsonObject or throws 400.</summary>
    public static JsonObject ParseObject(ReadOnlySpan<byte> body, string what)
    {
        try
        {
            return JsonNode.Parse(body) as JsonObject ?? throw ApiException.BadRequest($"{what}: expected a JSON object");
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"{what}: invalid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}: {e.Message}");
        }
    }

    /// <summary>RFC 3339 time in seconds, as Kubernetes writes timestamps.</summary>
    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Serializes without indentation.</summary>
    public static byte[] ToBytes(JsonNode node) => JsonSerializer.SerializeToUtf8Bytes(node, Json);
}
