// JSON reading and canonical writing for OCI documents, with errors that name the JSON path and line.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Appliance.ImageBuilder.Oci;

/// <summary>System.Text.Json settings shared by every OCI document.</summary>
public static class OciJson
{
    /// <summary>Reading: case-sensitive, comments rejected, unknown fields ignored.</summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNameCaseInsensitive = false,
        ReadCommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        WriteIndented = false,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        MaxDepth = 64,
    };

    /// <summary>The largest JSON document (manifest, index, config) accepted: 4 MiB, as registries do.</summary>
    public const int MaxDocumentSize = 4 << 20;

    /// <summary>Parses <paramref name="json"/>; a syntax or type error names <paramref name="where"/>, the JSON path, line and byte.</summary>
    public static T Deserialize<T>(ReadOnlySpan<byte> json, string where) where T : class
    {
        if (json.Length > MaxDocumentSize)
            throw new InvalidDataException($"{where}: JSON document is {json.Length} bytes, more than the {MaxDocumentSize}-byte limit");
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options)
                ?? throw new InvalidDataException($"{where}: JSON document is null");
        }
        catch (JsonException e)
        {
            var line = e.LineNumber is long l ? l + 1 : 0;
            var col = e.BytePositionInLine is long b ? b + 1 : 0;
            throw new InvalidDataException($"{where}:{line}:{col}: malformed JSON at {e.Path ?? "$"}: {FirstSentence(e.Message)}", e);
        }
    }

    /// <summary>Compact UTF-8 JSON in declaration order: the canonical bytes this tool writes for manifests and indexes.</summary>
    public static byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);

    private static string FirstSentence(string m)
    {
        var i = m.IndexOf(" Path:", StringComparison.Ordinal);
        return (i > 0 ? m[..i] : m).Trim();
    }
}
