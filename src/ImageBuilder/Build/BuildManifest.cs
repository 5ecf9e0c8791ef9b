// The build manifest: what went into an image, written next to it and (without the site part) into the root.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Appliance.ImageBuilder.Build;

/// <summary>The part of the manifest that is the same for every site built from the same base (stored in /etc/appliance/build.json).</summary>
public sealed record RootManifest
{
    /// <summary>The board family.</summary>
    [JsonPropertyName("board")] public required string Board { get; init; }
    /// <summary>The OCI platform.</summary>
    [JsonPropertyName("platform")] public required string Platform { get; init; }
    /// <summary>The OS image reference from the profile.</summary>
    [JsonPropertyName("osImage")] public required string OsImage { get; init; }
    /// <summary>The OS image manifest digest.</summary>
    [JsonPropertyName("osDigest")] public required string OsDigest { get; init; }
    /// <summary>The kernel version.</summary>
    [JsonPropertyName("kernel")] public required string Kernel { get; init; }
    /// <summary>The runtime release's version (what appliance-runtime --version prints), or "absent" (runtime.absent: true).</summary>
    [JsonPropertyName("runtime")] public required string Runtime { get; init; }
    /// <summary>The runtime release image and its manifest digest for the platform; null when the runtime is absent.</summary>
    [JsonPropertyName("runtimeImage")] public required ImageEntry? RuntimeImage { get; init; }
    /// <summary>Preloaded images by reference, with the manifest digest for this platform.</summary>
    [JsonPropertyName("images")] public required IReadOnlyList<ImageEntry> Images { get; init; }
    /// <summary>The initramfs modules, dependencies first.</summary>
    [JsonPropertyName("initramfsModules")] public required IReadOnlyList<string> InitramfsModules { get; init; }
    /// <summary>The timestamp of every file the build wrote.</summary>
    [JsonPropertyName("sourceDateEpoch")] public required long SourceDateEpoch { get; init; }
}

/// <summary>A preloaded image.</summary>
public sealed record ImageEntry([property: JsonPropertyName("reference")] string Reference, [property: JsonPropertyName("digest")] string Digest);

/// <summary>One partition of the built disk.</summary>
public sealed record PartitionEntry(
    [property: JsonPropertyName("number")] int Number,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("offset")] long Offset,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("contentBytes")] long ContentBytes,
    [property: JsonPropertyName("sha256")] string? Sha256);

/// <summary>The manifest written next to the image (<c>NAME.manifest.json</c>).</summary>
public sealed record BuildManifest
{
    /// <summary>The site name (metadata.name).</summary>
    [JsonPropertyName("name")] public required string Name { get; init; }
    /// <summary>The image file name.</summary>
    [JsonPropertyName("image")] public required string Image { get; init; }
    /// <summary>The image file's size in bytes: it ends after root-a (and the backup GPT).</summary>
    [JsonPropertyName("size")] public required long Size { get; init; }
    /// <summary>The smallest disk the image may be written to (the profile's target.diskSize): firstboot makes root-b and data there.</summary>
    [JsonPropertyName("minimumDiskSize")] public required long MinimumDiskSize { get; init; }
    /// <summary>gpt or mbr.</summary>
    [JsonPropertyName("partitionTable")] public required string PartitionTable { get; init; }
    /// <summary>The partitions; sha256 covers each partition's whole extent.</summary>
    [JsonPropertyName("partitions")] public required IReadOnlyList<PartitionEntry> Partitions { get; init; }
    /// <summary>SHA-256 of appliance/site.yaml on the boot partition.</summary>
    [JsonPropertyName("siteConfigSha256")] public required string SiteConfigSha256 { get; init; }
    /// <summary>The site-independent part, also in the root at /etc/appliance/build.json.</summary>
    [JsonPropertyName("root")] public required RootManifest Root { get; init; }

    /// <summary>Options for every manifest document: indented, stable property order.</summary>
    public static JsonSerializerOptions Json { get; } = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
