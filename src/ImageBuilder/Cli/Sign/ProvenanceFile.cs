// Reads the --provenance JSON file of `appliance sign` into a Provenance record.
using System.Text.Json;
using System.Text.Json.Serialization;
using Appliance.ImageBuilder.Signing.InToto;

namespace Appliance.ImageBuilder.Cli.Sign;

/// <summary>
/// The file format: <c>{"profile": {name, sha256}, "inputs": [{kind, name, sha256, uri?}], "builderVersion"?,
/// "sourceDateEpoch"?, "sbom": {name, sha256}?}</c> (documented in Signing/README.md).
/// </summary>
internal static class ProvenanceFile
{
    private sealed record Descriptor(
        [property: JsonRequired] string Name, [property: JsonRequired] string Sha256,
        string? Kind, string? Uri, string? MediaType);

    private sealed record Document(Descriptor? Profile, List<Descriptor>? Inputs, string? BuilderVersion,
        long? SourceDateEpoch, Descriptor? Sbom);

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Reads <paramref name="path"/>; defaults fill the builder version and SOURCE_DATE_EPOCH.</summary>
    public static Provenance Read(string path, string builderVersion, long? sourceDateEpoch)
    {
        if (!File.Exists(path))
            throw new UserInputException($"{path}: provenance file not found");
        Document doc;
        try
        {
            doc = JsonSerializer.Deserialize<Document>(File.ReadAllBytes(path), Options)
                  ?? throw new UserInputException($"{path}: provenance is null; expected a JSON object");
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } l ? $"{path}:{l + 1}:{e.BytePositionInLine + 1}" : path;
            var field = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $" at {e.Path}";
            throw new UserInputException($"{where}: invalid provenance{field}: {FirstSentence(e.Message)}", e);
        }
        var p = new Provenance
        {
            Profile = Map(doc.Profile, "profile"),
            Inputs = (doc.Inputs ?? []).Select(d => Map(d, null)!).ToList(),
            BuilderVersion = doc.BuilderVersion ?? builderVersion,
            SourceDateEpoch = doc.SourceDateEpoch ?? sourceDateEpoch,
            Sbom = Map(doc.Sbom, "sbom"),
        };
        try
        {
            p.Validate();
        }
        catch (InvalidDataException e)
        {
            throw new UserInputException($"{path}: {e.Message}", e);
        }
        return p;
    }

    private static ResourceDescriptor? Map(Descriptor? d, string? kind) =>
        d == null ? null : new ResourceDescriptor(d.Name, d.Sha256.ToLowerInvariant(), d.Kind ?? kind, d.Uri, d.MediaType);

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd('.', ' ');
    }
}
