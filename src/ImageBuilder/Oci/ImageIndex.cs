// OCI image index (image-spec image-index.md), also the shape of index.json in an image layout and of a Docker manifest list.
using System.Text.Json.Serialization;

namespace Appliance.ImageBuilder.Oci;

/// <summary>An image index: a list of manifest (or index) descriptors.</summary>
public sealed record ImageIndex
{
    /// <summary>Always 2.</summary>
    [JsonPropertyName("schemaVersion")] public int SchemaVersion { get; init; } = 2;
    /// <summary>The index media type.</summary>
    [JsonPropertyName("mediaType"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? MediaType { get; init; }
    /// <summary>Entries.</summary>
    [JsonPropertyName("manifests")] public List<Descriptor> Manifests { get; init; } = [];
    /// <summary>Annotations.</summary>
    [JsonPropertyName("annotations"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public SortedDictionary<string, string>? Annotations { get; init; }

    /// <summary>Parses and checks the required fields.</summary>
    public static ImageIndex Parse(ReadOnlySpan<byte> json, string where)
    {
        var i = OciJson.Deserialize<ImageIndex>(json, where);
        if (i.SchemaVersion != 2)
            throw new InvalidDataException($"{where}: $.schemaVersion is {i.SchemaVersion}, expected 2");
        if (i.Manifests is null)
            throw new InvalidDataException($"{where}: $.manifests is missing");
        return i;
    }
}
