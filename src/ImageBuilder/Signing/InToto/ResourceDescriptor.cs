// An in-toto v1 ResourceDescriptor (in-toto attestation spec, resource_descriptor.md), reduced to what we use.
using System.Text.Json;

namespace Appliance.ImageBuilder.Signing.InToto;

/// <summary>A named artifact identified by its SHA-256, optionally with a kind, a URI and a media type.</summary>
/// <param name="Name">File or image name.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the artifact.</param>
/// <param name="Kind">What the artifact is to the build (os-image, runtime, image, profile, sbom); written as an annotation.</param>
/// <param name="Uri">Where it came from, when known (an OCI reference, a store path).</param>
/// <param name="MediaType">Its media type, when known.</param>
public sealed record ResourceDescriptor(string Name, string Sha256, string? Kind = null, string? Uri = null, string? MediaType = null)
{
    internal void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("name", Name);
        if (Uri != null)
            w.WriteString("uri", Uri);
        w.WriteStartObject("digest");
        w.WriteString("sha256", Sha256);
        w.WriteEndObject();
        if (MediaType != null)
            w.WriteString("mediaType", MediaType);
        if (Kind != null)
        {
            w.WriteStartObject("annotations");
            w.WriteString("kind", Kind);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary>Checks the digest is 64 lower-case hex digits; <paramref name="field"/> names it in the error.</summary>
    internal void Validate(string field)
    {
        if (string.IsNullOrEmpty(Name))
            throw new InvalidDataException($"{field}.name: must not be empty");
        if (Sha256.Length != 64 || !Sha256.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f'))
            throw new InvalidDataException($"{field}.sha256: '{Sha256}' is not 64 lower-case hex digits");
    }
}
