// OCI image manifest (image-spec manifest.md) and Docker v2 schema 2 manifest, which share one shape.
using System.Text.Json.Serialization;

namespace Appliance.ImageBuilder.Oci;

/// <summary>An image manifest: one config and an ordered list of layers.</summary>
public sealed record ImageManifest
{
    /// <summary>Always 2.</summary>
    [JsonPropertyName("schemaVersion")] public int SchemaVersion { get; init; }
    /// <summary>The manifest's media type (optional in OCI, required by Docker).</summary>
    [JsonPropertyName("mediaType"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? MediaType { get; init; }
    /// <summary>The config blob.</summary>
    [JsonPropertyName("config")] public Descriptor? Config { get; init; }
    /// <summary>Layers, lowest first.</summary>
    [JsonPropertyName("layers")] public List<Descriptor>? Layers { get; init; }
    /// <summary>Annotations.</summary>
    [JsonPropertyName("annotations"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public SortedDictionary<string, string>? Annotations { get; init; }

    /// <summary>Parses and checks the required fields.</summary>
    public static ImageManifest Parse(ReadOnlySpan<byte> json, string where)
    {
        var m = OciJson.Deserialize<ImageManifest>(json, where);
        if (m.SchemaVersion != 2)
            throw new InvalidDataException($"{where}: $.schemaVersion is {m.SchemaVersion}, expected 2");
        if (m.Config is null)
            throw new InvalidDataException($"{where}: $.config is missing");
        if (m.Layers is null)
            throw new InvalidDataException($"{where}: $.layers is missing");
        return m;
    }
}
