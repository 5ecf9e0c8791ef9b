// The parts of an OCI image config (image-spec config.md) the store reads: platform and rootfs diff_ids.
using System.Text.Json.Serialization;

namespace Appliance.ImageBuilder.Oci;

/// <summary>An image config, reduced to what the store checks.</summary>
public sealed record ImageConfig
{
    /// <summary>Architecture.</summary>
    [JsonPropertyName("architecture")] public string? Architecture { get; init; }
    /// <summary>OS.</summary>
    [JsonPropertyName("os")] public string? Os { get; init; }
    /// <summary>Variant.</summary>
    [JsonPropertyName("variant")] public string? Variant { get; init; }
    /// <summary>Layer digests of the uncompressed tars.</summary>
    [JsonPropertyName("rootfs")] public RootFs? RootFs { get; init; }

    /// <summary>The platform the config declares.</summary>
    [JsonIgnore] public Platform Platform => new() { Os = Os ?? "", Architecture = Architecture ?? "", Variant = string.IsNullOrEmpty(Variant) ? null : Variant };

    /// <summary>Parses a config blob.</summary>
    public static ImageConfig Parse(ReadOnlySpan<byte> json, string where) => OciJson.Deserialize<ImageConfig>(json, where);
}

/// <summary>The rootfs section of a config.</summary>
public sealed record RootFs
{
    /// <summary>Always "layers".</summary>
    [JsonPropertyName("type")] public string? Type { get; init; }
    /// <summary>One digest per layer, of the uncompressed tar.</summary>
    [JsonPropertyName("diff_ids")] public List<string>? DiffIds { get; init; }
}
