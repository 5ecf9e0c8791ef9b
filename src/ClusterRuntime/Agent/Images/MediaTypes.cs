// The OCI and Docker media types the importer reads and writes, and containerd's garbage-collection label keys.
namespace Appliance.ClusterRuntime.Agent.Images;

/// <summary>Media types (OCI image-spec and Docker image manifest v2.2) and containerd label keys.</summary>
internal static class MediaTypes
{
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string DockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";

    /// <summary>containerd keeps a blob's children while the blob lives: config (<c>.config</c>), layers
    /// (<c>.l.N</c>), an index's manifests (<c>.m.N</c>).</summary>
    public const string GcRefContent = "containerd.io/gc.ref.content";

    public static bool IsIndex(string mediaType) => mediaType is OciIndex or DockerList;

    public static bool IsManifest(string mediaType) => mediaType is OciManifest or DockerManifest;
}
