// OCI content descriptor (image-spec descriptor.md).
using System.Text.Json.Serialization;

namespace Appliance.ImageBuilder.Oci;

/// <summary>A reference to a blob: media type, digest, size, and optional platform and annotations.</summary>
public sealed record Descriptor
{
    /// <summary>Media type of the referenced content.</summary>
    [JsonPropertyName("mediaType")] public string MediaType { get; init; } = "";
    /// <summary>"sha256:hex".</summary>
    [JsonPropertyName("digest")] public string Digest { get; init; } = "";
    /// <summary>Size in bytes.</summary>
    [JsonPropertyName("size")] public long Size { get; init; }
    /// <summary>Platform of an index entry.</summary>
    [JsonPropertyName("platform"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Platform? Platform { get; init; }
    /// <summary>Annotations (names, tags).</summary>
    [JsonPropertyName("annotations"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public SortedDictionary<string, string>? Annotations { get; init; }
    /// <summary>URLs for non-distributable content; never followed here.</summary>
    [JsonPropertyName("urls"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string[]? Urls { get; init; }

    /// <summary>The parsed digest; throws naming <paramref name="where"/> when invalid.</summary>
    public Digest ParsedDigest(string where) => Oci.Digest.Parse(Digest, where);

    /// <summary>Annotation value or null.</summary>
    public string? Annotation(string key) => Annotations != null && Annotations.TryGetValue(key, out var v) ? v : null;
}

/// <summary>Well-known annotation keys.</summary>
public static class Annotations
{
    /// <summary>OCI reference name (a tag, or a full reference in many tools).</summary>
    public const string RefName = "org.opencontainers.image.ref.name";
    /// <summary>containerd's full image name.</summary>
    public const string ContainerdName = "io.containerd.image.name";
}
