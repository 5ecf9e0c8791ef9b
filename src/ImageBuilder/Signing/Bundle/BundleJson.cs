// Bundle <-> JSON, in the protobuf JSON mapping @sigstore/bundle and cosign read (lowerCamelCase, bytes as base64).
using System.Text.Json;
using Appliance.ImageBuilder.Signing.Dsse;
using Appliance.ImageBuilder.Signing.Io;

namespace Appliance.ImageBuilder.Signing.Bundle;

/// <summary>A bundle whose mediaType is not one we verify.</summary>
public sealed class UnsupportedBundleException(string message) : Exception(message);

/// <summary>Writes and reads bundle JSON.</summary>
public static class BundleJson
{
    /// <summary>The bundle as indented JSON with a fixed property order.</summary>
    public static byte[] Write(SigstoreBundle bundle) => Json.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("mediaType", bundle.MediaType);
        w.WriteStartObject("verificationMaterial");
        w.WriteStartObject("publicKey");
        w.WriteString("hint", bundle.KeyHint);
        w.WriteEndObject();
        w.WriteStartArray("tlogEntries");
        w.WriteEndArray();
        w.WriteEndObject();
        switch (bundle.Content)
        {
            case DsseContent { Envelope: var env }:
                w.WriteStartObject("dsseEnvelope");
                w.WriteBase64String("payload", env.Payload);
                w.WriteString("payloadType", env.PayloadType);
                w.WriteStartArray("signatures");
                foreach (var s in env.Signatures)
                {
                    w.WriteStartObject();
                    w.WriteBase64String("sig", s.Sig);
                    w.WriteString("keyid", s.KeyId);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
                break;
            case MessageSignatureContent m:
                w.WriteStartObject("messageSignature");
                w.WriteStartObject("messageDigest");
                w.WriteString("algorithm", "SHA2_256");
                w.WriteBase64String("digest", m.Sha256);
                w.WriteEndObject();
                w.WriteBase64String("signature", m.Signature);
                w.WriteEndObject();
                break;
            default:
                throw new ArgumentException("bundle has no content", nameof(bundle));
        }
        w.WriteEndObject();
    }, indented: true);

    /// <summary>
    /// Parses bundle JSON; <paramref name="source"/> names it in errors. Throws <see cref="UnsupportedBundleException"/>
    /// for a mediaType other than v0.3 (checked first), and <see cref="InvalidDataException"/> naming the line and
    /// column or the field path for anything malformed.
    /// </summary>
    public static SigstoreBundle Read(ReadOnlySpan<byte> json, string source)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException e)
        {
            throw new InvalidDataException(
                $"{source}:{e.LineNumber + 1}:{e.BytePositionInLine + 1}: not valid JSON ({FirstSentence(e.Message)})", e);
        }
        using (doc)
        {
            var root = new Field(doc.RootElement, source, "");
            var mediaType = root.String("mediaType");
            if (!SigstoreBundle.IsSupported(mediaType))
                throw new UnsupportedBundleException(
                    $"{source}: bundle mediaType is '{mediaType}'; only '{SigstoreBundle.MediaTypeV03}' is supported");
            var material = root.Object("verificationMaterial");
            if (!material.Has("publicKey"))
                throw new InvalidDataException(
                    $"{source}: verificationMaterial.publicKey: missing (certificate-based bundles need a trust root; we verify key-signed bundles)");
            var hint = material.Object("publicKey").String("hint");
            BundleContent content;
            if (root.Has("dsseEnvelope"))
                content = new DsseContent(ReadEnvelope(root.Object("dsseEnvelope")));
            else if (root.Has("messageSignature"))
            {
                var ms = root.Object("messageSignature");
                var digest = ms.Object("messageDigest");
                var alg = digest.String("algorithm");
                if (alg != "SHA2_256")
                    throw new InvalidDataException($"{source}: messageSignature.messageDigest.algorithm: '{alg}', expected 'SHA2_256'");
                content = new MessageSignatureContent(digest.Bytes("digest"), ms.Bytes("signature"));
            }
            else
                throw new InvalidDataException($"{source}: neither dsseEnvelope nor messageSignature is present");
            return new SigstoreBundle(mediaType, hint, content);
        }
    }

    private static DsseEnvelope ReadEnvelope(Field env)
    {
        var sigs = new List<DsseSignature>();
        foreach (var s in env.Array("signatures"))
            sigs.Add(new DsseSignature(s.Has("keyid") ? s.String("keyid") : "", s.Bytes("sig")));
        return new DsseEnvelope(env.String("payloadType"), env.Bytes("payload"), sigs);
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". ", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message.TrimEnd('.');
    }

    // A JSON element with the path that reached it, so every error names the field.
    private readonly record struct Field(JsonElement Element, string Source, string Path)
    {
        private string Child(string name) => Path.Length == 0 ? name : $"{Path}.{name}";

        public bool Has(string name) =>
            Element.ValueKind == JsonValueKind.Object && Element.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

        private JsonElement Get(string name, JsonValueKind kind)
        {
            if (Element.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{Source}: {(Path.Length == 0 ? "(root)" : Path)}: expected a JSON object");
            if (!Element.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
                throw new InvalidDataException($"{Source}: {Child(name)}: missing");
            if (v.ValueKind != kind)
                throw new InvalidDataException($"{Source}: {Child(name)}: expected {kind.ToString().ToLowerInvariant()}, found {v.ValueKind.ToString().ToLowerInvariant()}");
            return v;
        }

        public Field Object(string name) => new(Get(name, JsonValueKind.Object), Source, Child(name));

        public string String(string name) => Get(name, JsonValueKind.String).GetString()!;

        public byte[] Bytes(string name)
        {
            var text = String(name);
            try
            {
                return Convert.FromBase64String(text);
            }
            catch (FormatException)
            {
                throw new InvalidDataException($"{Source}: {Child(name)}: not valid base64");
            }
        }

        public IEnumerable<Field> Array(string name)
        {
            var arr = Get(name, JsonValueKind.Array);
            var path = Child(name);
            var source = Source;
            return arr.EnumerateArray().Select((e, i) => new Field(e, source, $"{path}[{i}]")).ToList();
        }
    }
}
