// Everything an image's SBOM lists: the OS packages, the preloaded images and our own components.
namespace Appliance.ImageBuilder.Signing.Sbom;

/// <summary>One of our own components (appliance, appliance-runtime, appliance-firstboot) and its version.</summary>
/// <param name="Name">The component (a program's file name).</param>
/// <param name="Version">Its version.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the file the image carries, when the component is one file.</param>
/// <param name="Type">The CycloneDX component type: <c>application</c>, or <c>library</c> for a shared library.</param>
public sealed record OwnComponent(string Name, string Version, string? Sha256 = null, string Type = "application");

/// <summary>The inputs of <see cref="CycloneDxWriter.Write"/>.</summary>
public sealed record SbomInput
{
    /// <summary>The SBOM's subject: the image file name (e.g. <c>site.img</c>).</summary>
    public required string Subject { get; init; }

    /// <summary>The subject's version, when it has one.</summary>
    public string? SubjectVersion { get; init; }

    /// <summary>Installed Debian packages of the OS image (see <see cref="DpkgStatus"/>).</summary>
    public IReadOnlyList<DebianPackage> Packages { get; init; } = [];

    /// <summary>The purl <c>distro</c> qualifier for the packages.</summary>
    public string Distro { get; init; } = "debian-12";

    /// <summary>Preloaded container images.</summary>
    public IReadOnlyList<ContainerImage> Images { get; init; } = [];

    /// <summary>Our own components.</summary>
    public IReadOnlyList<OwnComponent> OwnComponents { get; init; } = [];

    /// <summary>The version of the tool writing the SBOM (metadata.tools).</summary>
    public required string ToolVersion { get; init; }

    /// <summary>SOURCE_DATE_EPOCH; becomes metadata.timestamp. Without it there is no timestamp (never the wall clock).</summary>
    public long? SourceDateEpoch { get; init; }

    /// <summary>The standard own components, all at <paramref name="version"/>.</summary>
    public static IReadOnlyList<OwnComponent> StandardOwnComponents(string version) =>
        [new("appliance", version), new("appliance-runtime", version), new("appliance-firstboot", version)];
}
