// What one `appliance build` run is asked to do.
using Appliance.ImageBuilder.Disk.Image;
using Appliance.ImageBuilder.Signing.Keys;

namespace Appliance.ImageBuilder.Build;

/// <summary>The inputs of a build: a loaded profile, the content store, and where the image goes.</summary>
/// <param name="ProfileFile">The profile file (for messages and relative paths).</param>
/// <param name="OutputDirectory">Where <c>NAME.img</c>, <c>NAME.manifest.json</c> and <c>NAME.cdx.json</c> are written.</param>
/// <param name="SourceDateEpoch">Timestamps for every file the build writes; null takes the OS image's creation time.</param>
/// <param name="SigningKey">The unlocked key of the profile's <c>signing.key</c>; null builds unsigned outputs.</param>
/// <param name="BuilderVersion">This builder's version, recorded in the SBOM and the provenance.</param>
public sealed record BuildRequest(string ProfileFile, string OutputDirectory, long? SourceDateEpoch,
    SigningKey? SigningKey = null, string BuilderVersion = "0.0.0")
{
    /// <summary>
    /// An existing, empty directory for the build's scratch files, which the caller removes afterwards; null makes (and
    /// removes) a temporary one. The command layer passes one it has registered for removal on a signal.
    /// </summary>
    public string? WorkDirectory { get; init; }

    /// <summary>
    /// The server address written into <c>NAME.kubeconfig</c> (<c>--api-server</c>); null takes the profile's
    /// (<see cref="SiteSecrets.DefaultApiServer"/>). Only for a server site with <c>cluster.pki</c>.
    /// </summary>
    public Uri? ApiServer { get; init; }
}

/// <summary>What a build produced.</summary>
/// <param name="ImagePath">The disk image.</param>
/// <param name="ManifestPath">The build manifest.</param>
/// <param name="Manifest">The build manifest's content.</param>
/// <param name="SbomPath">The CycloneDX SBOM of the image.</param>
/// <param name="Bundles">The Sigstore bundles written (empty when the profile names no signing key).</param>
public sealed record BuildResult(string ImagePath, string ManifestPath, BuildManifest Manifest, string SbomPath, IReadOnlyList<string> Bundles)
{
    /// <summary>The admin kubeconfig written next to the image (mode 0600), or null (an agent site, or no cluster.pki).</summary>
    public string? KubeconfigPath { get; init; }

    /// <summary>SHA-256 of the image file, taken as it was written (what its bundle signs).</summary>
    public required byte[] ImageSha256 { get; init; }

    /// <summary>What the disk composer wrote: partitions with their offsets and digests.</summary>
    public required DiskImageResult Disk { get; init; }

    /// <summary>The ISO (<c>target.format: iso</c>), or null for a raw build.</summary>
    public string? IsoPath { get; init; }

    /// <summary>SHA-256 of the ISO, or null for a raw build.</summary>
    public byte[]? IsoSha256 { get; init; }
}
