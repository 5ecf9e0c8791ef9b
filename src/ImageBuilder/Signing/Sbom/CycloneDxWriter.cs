// Writes a CycloneDX 1.6 JSON BOM (cyclonedx.org/docs/1.6/json) deterministically from an SbomInput.
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Appliance.ImageBuilder.Signing.Io;

namespace Appliance.ImageBuilder.Signing.Sbom;

/// <summary>CycloneDX 1.6 JSON writer.</summary>
public static class CycloneDxWriter
{
    /// <summary>The media type of what we write.</summary>
    public const string MediaType = "application/vnd.cyclonedx+json";

    // RFC 4122 name-based UUIDs need a namespace; this is the RFC's URL namespace.
    private static readonly Guid UrlNamespace = new("6ba7b811-9dad-11d1-80b4-00c04fd430c8");

    /// <summary>
    /// The BOM as indented JSON. Components are sorted (packages by name, architecture, version; images by
    /// reference), and serialNumber is a UUIDv5 of the BOM's own content, so equal inputs give equal bytes.
    /// </summary>
    public static byte[] Write(SbomInput input)
    {
        var content = Json.Write(w => WriteBom(w, input, serial: null), indented: false);
        var name = "https://appliance.dev/sbom/sha256/" + Json.Hex(SHA256.HashData(content));
        var serial = "urn:uuid:" + NameBasedUuid(UrlNamespace, name);
        return Json.Write(w => WriteBom(w, input, serial), indented: true);
    }

    /// <summary>The purl of a Debian package in <paramref name="distro"/>.</summary>
    public static string DebPurl(DebianPackage p, string distro) =>
        PackageUrl.Create("deb", "debian", p.Name, p.Version, [new("arch", p.Architecture), new("distro", distro)]);

    private static void WriteBom(Utf8JsonWriter w, SbomInput input, string? serial)
    {
        w.WriteStartObject();
        w.WriteString("$schema", "http://cyclonedx.org/schema/bom-1.6.schema.json");
        w.WriteString("bomFormat", "CycloneDX");
        w.WriteString("specVersion", "1.6");
        if (serial != null)
            w.WriteString("serialNumber", serial);
        w.WriteNumber("version", 1);

        w.WriteStartObject("metadata");
        if (input.SourceDateEpoch is { } epoch)
            w.WriteString("timestamp", DateTimeOffset.FromUnixTimeSeconds(epoch).UtcDateTime
                .ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        w.WriteStartObject("tools");
        w.WriteStartArray("components");
        WriteComponent(w, "application", "appliance", input.ToolVersion, null, GenericPurl("appliance", input.ToolVersion), null);
        w.WriteEndArray();
        w.WriteEndObject();
        WriteComponent(w, "operating-system", input.Subject, input.SubjectVersion, "subject", null, null, name: "component");
        w.WriteEndObject();

        var seen = new HashSet<string>(StringComparer.Ordinal);
        w.WriteStartArray("components");
        foreach (var own in input.OwnComponents)
        {
            var purl = GenericPurl(own.Name, own.Version);
            if (seen.Add(purl))
                WriteComponent(w, own.Type, own.Name, own.Version, purl, purl, own.Sha256);
        }
        foreach (var p in input.Packages
                     .OrderBy(p => p.Name, StringComparer.Ordinal)
                     .ThenBy(p => p.Architecture, StringComparer.Ordinal)
                     .ThenBy(p => p.Version, StringComparer.Ordinal))
        {
            var purl = DebPurl(p, input.Distro);
            if (seen.Add(purl))
                WriteComponent(w, "library", p.Name, p.Version, purl, purl, null);
        }
        foreach (var img in input.Images
                     .OrderBy(i => i.Reference, StringComparer.Ordinal)
                     .ThenBy(i => i.Sha256, StringComparer.Ordinal))
        {
            var purl = img.ToPurl();
            if (seen.Add(purl))
                WriteComponent(w, "container", img.Reference, "sha256:" + img.Sha256, purl, purl, img.Sha256);
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static string GenericPurl(string name, string version) => PackageUrl.Create("generic", null, name, version);

    private static void WriteComponent(Utf8JsonWriter w, string type, string componentName, string? version,
        string? bomRef, string? purl, string? sha256, string? name = null)
    {
        if (name != null)
            w.WriteStartObject(name);
        else
            w.WriteStartObject();
        w.WriteString("type", type);
        if (bomRef != null)
            w.WriteString("bom-ref", bomRef);
        w.WriteString("name", componentName);
        if (version != null)
            w.WriteString("version", version);
        if (sha256 != null)
        {
            w.WriteStartArray("hashes");
            w.WriteStartObject();
            w.WriteString("alg", "SHA-256");
            w.WriteString("content", sha256);
            w.WriteEndObject();
            w.WriteEndArray();
        }
        if (purl != null)
            w.WriteString("purl", purl);
        w.WriteEndObject();
    }

    /// <summary>An RFC 4122 §4.3 version-5 (SHA-1, name-based) UUID.</summary>
    internal static string NameBasedUuid(Guid ns, string name)
    {
        var nsBytes = ns.ToByteArray(bigEndian: true);
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var hash = SHA1.HashData([.. nsBytes, .. nameBytes]);
        var b = hash.AsSpan(0, 16).ToArray();
        b[6] = (byte)((b[6] & 0x0F) | 0x50);
        b[8] = (byte)((b[8] & 0x3F) | 0x80);
        return new Guid(b, bigEndian: true).ToString("D");
    }
}
