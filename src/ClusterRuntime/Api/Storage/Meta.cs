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
    public static JsonObject ParseObject(ReadOnlySpan<byte> body, string what, List<string>? duplicates = null) =>
        ParseNode(body, what, duplicates) as JsonObject ?? throw ApiException.BadRequest($"{what}: expected a JSON object");

    /// <summary>
    /// Parses a request body or throws 400 naming where it is wrong: invalid UTF-8 (which the JSON reader would
    /// otherwise turn into U+FFFD), a key given twice in one object, or malformed JSON. With
    /// <paramref name="duplicates"/>, keys given twice are listed there instead (the last one wins, as in Go).
    /// </summary>
    public static JsonNode? ParseNode(ReadOnlySpan<byte> body, string what, List<string>? duplicates = null)
    {
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            int at = 0;
            while (System.Text.Rune.DecodeFromUtf8(body[at..], out _, out var used) == System.Buffers.OperationStatus.Done) at += used;
            throw ApiException.BadRequest($"{what}: invalid UTF-8 at byte {at + 1}");
        }
        try
        {
            var found = DuplicateKeys(body);
            if (duplicates is not null) duplicates.AddRange(found.Select(d => d.Path));
            else if (found.Count > 0) throw ApiException.BadRequest($"{what}: duplicate field \"{found[0].Path}\" at byte {found[0].Offset + 1}");
            return found.Count > 0 ? LastWins(body) : JsonNode.Parse(body);
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" at line {line + 1}, byte {e.BytePositionInLine + 1}" : "";
            throw ApiException.BadRequest($"{what}: invalid JSON{where}: {e.Message}");
        }
    }

    /// <summary>Parses JSON whose objects may repeat a key; the last value wins (JsonNode.Parse refuses repeats).</summary>
    static JsonNode? LastWins(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        reader.Read();
        return ReadValue(ref reader);

        static JsonNode? ReadValue(ref Utf8JsonReader reader)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    var obj = new JsonObject();
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var key = reader.GetString()!;
                        reader.Read();
                        obj[key] = ReadValue(ref reader);
                    }
                    return obj;
                case JsonTokenType.StartArray:
                    var array = new JsonArray();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) array.Add(ReadValue(ref reader));
                    return array;
                case JsonTokenType.String:
                    return JsonValue.Create(reader.GetString());
                case JsonTokenType.True or JsonTokenType.False:
                    return JsonValue.Create(reader.GetBoolean());
                case JsonTokenType.Number:
                    return JsonNode.Parse(reader.ValueSpan);
                default:
                    return null;
            }
        }
    }

    /// <summary>Keys given twice in one object: their paths as strict decoding names them (<c>spec.containers[0].name</c>) and where.</summary>
    public static List<(string Path, long Offset)> DuplicateKeys(ReadOnlySpan<byte> body)
    {
        var found = new List<(string, long)>();
        var reader = new Utf8JsonReader(body);
        // Per open container: its path, the keys seen (objects) or the next index (arrays).
        var open = new Stack<(string Path, HashSet<string>? Keys, int Index)>();
        string? pending = null;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    var path = Next(open, ref pending);
                    open.Push((path, reader.TokenType == JsonTokenType.StartObject ? new HashSet<string>(StringComparer.Ordinal) : null, 0));
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    open.Pop();
                    break;
                case JsonTokenType.PropertyName:
                    var top = open.Peek();
                    var key = reader.GetString()!;
                    pending = top.Path.Length == 0 ? key : $"{top.Path}.{key}";
                    if (!top.Keys!.Add(key)) found.Add((pending, reader.TokenStartIndex));
                    break;
                default:
                    Next(open, ref pending);
                    break;
            }
        }
        return found;

        // The path of the value starting now: the pending key's, or the next index of the enclosing array.
        static string Next(Stack<(string Path, HashSet<string>? Keys, int Index)> open, ref string? pending)
        {
            if (open.Count == 0) return "";
            var top = open.Peek();
            if (top.Keys is not null) { var p = pending ?? ""; pending = null; return p; }
            open.Pop();
            open.Push(top with { Index = top.Index + 1 });
            return $"{top.Path}[{top.Index}]";
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
