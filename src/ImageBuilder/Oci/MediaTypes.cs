// OCI image-spec and Docker v2 schema 2 media types, and what each one means to the store.
namespace Appliance.ImageBuilder.Oci;

/// <summary>Media types the store understands (OCI image-spec v1.1 and Docker image manifest v2 schema 2).</summary>
public static class MediaTypes
{
    /// <summary>OCI image manifest.</summary>
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    /// <summary>OCI image index.</summary>
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    /// <summary>OCI image config.</summary>
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    /// <summary>OCI uncompressed layer.</summary>
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";
    /// <summary>OCI gzip layer.</summary>
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// <summary>OCI zstd layer.</summary>
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
    /// <summary>Docker v2 schema 2 manifest.</summary>
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    /// <summary>Docker manifest list.</summary>
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// <summary>Docker image config.</summary>
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    /// <summary>Docker gzip layer.</summary>
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// <summary>Docker uncompressed layer (rare, but valid).</summary>
    public const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar";

    /// <summary>True for an image manifest (OCI or Docker).</summary>
    public static bool IsManifest(string? m) => m is OciManifest or DockerManifest;

    /// <summary>True for an image index or manifest list.</summary>
    public static bool IsIndex(string? m) => m is OciIndex or DockerManifestList;

    /// <summary>True for an image config.</summary>
    public static bool IsConfig(string? m) => m is OciConfig or DockerConfig;

    /// <summary>The compression of a layer media type, or null when the type is not a layer we can unpack.</summary>
    public static LayerCompression? LayerCompressionOf(string? m) => m switch
    {
        OciLayer or DockerLayer => LayerCompression.None,
        OciLayerGzip or DockerLayerGzip => LayerCompression.Gzip,
        OciLayerZstd => LayerCompression.Zstd,
        _ => null,
    };

    /// <summary>The OCI layer media type for a compression.</summary>
    public static string OciLayerFor(LayerCompression c) => c switch
    {
        LayerCompression.Gzip => OciLayerGzip,
        LayerCompression.Zstd => OciLayerZstd,
        _ => OciLayer,
    };
}

/// <summary>How a layer blob is compressed.</summary>
public enum LayerCompression
{
    /// <summary>A plain tar.</summary>
    None,
    /// <summary>gzip (RFC 1952).</summary>
    Gzip,
    /// <summary>Zstandard (RFC 8878).</summary>
    Zstd,
}
