// Writer settings shared by every JSON document we emit, so equal inputs give equal bytes.
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Appliance.ImageBuilder.Signing.Io;

/// <summary>Deterministic JSON writing: fixed property order (the writer's call order), "\n" newlines.</summary>
internal static class Json
{
    /// <summary>
    /// Writes one document with <paramref name="write"/>. Base64 and purls carry '+', which the default
    /// encoder would escape as \u002B; the relaxed encoder keeps them readable and is still valid JSON.
    /// </summary>
    public static byte[] Write(Action<Utf8JsonWriter> write, bool indented)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions
        {
            Indented = indented,
            NewLine = "\n",
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }))
        {
            write(w);
        }
        if (indented)
            ms.WriteByte((byte)'\n');
        return ms.ToArray();
    }

    /// <summary>Hex of a digest, lower case, as in-toto and CycloneDX expect.</summary>
    public static string Hex(ReadOnlySpan<byte> digest) => Convert.ToHexStringLower(digest);
}
