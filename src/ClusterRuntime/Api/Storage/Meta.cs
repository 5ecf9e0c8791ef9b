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

    /// <summary>The finalizers, empty when none. Entries that are not strings (only in objects stored before types were checked) hold nothing.</summary>
    public static List<string> Finalizers(JsonObject obj) =>
        obj["metadata"] is JsonObject m && m["finalizers"] is JsonArray a
            ? a.Select(n => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : "").Where(s => s.Length > 0).ToList()
            : [];

    /// <summary>Parses bytes into a JsonObject or throws 400.</summary>
    public static JsonObject ParseObject(ReadOnlySpan<byte> body, string what) =>
        ParseNode(body, what) as JsonObject ?? throw ApiException.BadRequest($"{what}: expected a JSON object");

    /// <summary>
    /// Parses a request body or throws 400 naming where it is wrong: invalid UTF-8 (which the JSON reader would
    /// otherwise turn into U+FFFD), a key given twice in one object, or malformed JSON.
    /// </summary>
    public static JsonNode? ParseNode(ReadOnlySpan<byte> body, string what)
    {
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            int at = 0;
            while (System.Text.Rune.DecodeFromUtf8(body[at..], out _, out var used) == System.Buffers.OperationStatus.Done) at += used;
            throw ApiException.BadRequest($"{what}: invalid UTF-8 at byte {at + 1}");
        }
        try
        {
            CheckDuplicateKeys(body, what);
            return JsonNode.Parse(body);
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" at line {line + 1}, byte {e.BytePositionInLine + 1}" : "";
            throw ApiException.BadRequest($"{what}: invalid JSON{where}: {e.Message}");
        }
    }

    /// <summary>400 when an object has a key twice (Go's decoder would keep the last silently; strict decoding refuses it).</summary>
    static void CheckDuplicateKeys(ReadOnlySpan<byte> body, string what)
    {
        var reader = new Utf8JsonReader(body);
        var open = new Stack<HashSet<string>?>();
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject: open.Push(null); break;
                case JsonTokenType.StartArray: open.Push(null); break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray: open.Pop(); break;
                case JsonTokenType.PropertyName:
                    var keys = open.Pop() ?? new HashSet<string>(StringComparer.Ordinal);
                    var key = reader.GetString()!;
                    if (!keys.Add(key)) throw ApiException.BadRequest($"{what}: duplicate field \"{key}\" at byte {reader.TokenStartIndex + 1}");
                    open.Push(keys);
                    break;
            }
        }
    }

    /// <summary>RFC 3339 time in seconds, as Kubernetes writes timestamps.</summary>
    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Serializes without indentation (the node writes itself: no reflection, so trimmed and AOT builds keep it).</summary>
    public static byte[] ToBytes(JsonNode node)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = Json.Encoder }))
            node.WriteTo(writer, Json);
        return buffer.WrittenSpan.ToArray();
    }
}
