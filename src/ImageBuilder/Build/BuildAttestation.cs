// A build's SBOM and signatures: NAME.cdx.json beside the image, DSSE bundles carrying the build provenance.
using System.Security.Cryptography;
using Appliance.ImageBuilder.Signing;
using Appliance.ImageBuilder.Signing.InToto;
using Appliance.ImageBuilder.Signing.Io;
using Appliance.ImageBuilder.Signing.Keys;
using Appliance.ImageBuilder.Signing.Sbom;

namespace Appliance.ImageBuilder.Build;

/// <summary>One input of a build, as the provenance lists it.</summary>
/// <param name="Kind"><c>os-image</c>, <c>runtime</c> or <c>image</c>.</param>
/// <param name="Name">The reference (store name) or program name.</param>
/// <param name="Sha256">Lower-case hex SHA-256: an OCI manifest digest, or the bytes of the runtime payload.</param>
/// <param name="Uri">Where it came from, when that says more than the name.</param>
public sealed record BuildInput(string Kind, string Name, string Sha256, string? Uri = null);

/// <summary>Everything the SBOM and the provenance of one build say.</summary>
public sealed record BuildFacts
{
    /// <summary>The profile file name.</summary>
    public required string ProfileName { get; init; }

    /// <summary>SHA-256 (hex) of the merged profile as rendered (base included, secrets redacted).</summary>
    public required string ProfileSha256 { get; init; }

    /// <summary>The inputs, in build order: OS image, runtime, then each preloaded image.</summary>
    public required IReadOnlyList<BuildInput> Inputs { get; init; }

    /// <summary>The installed Debian packages of the OS image (its var/lib/dpkg/status).</summary>
    public required IReadOnlyList<DebianPackage> Packages { get; init; }

    /// <summary>The runtime version carried by the image (appliance-runtime and appliance-firstboot print it), or "absent".</summary>
    public required string RuntimeVersion { get; init; }

    /// <summary>The runtime release's files in root-a, each at <see cref="RuntimeVersion"/> with its SHA-256; none when absent.</summary>
    public required IReadOnlyList<OwnComponent> RuntimeFiles { get; init; }

    /// <summary>The version of this builder.</summary>
    public required string BuilderVersion { get; init; }

    /// <summary>The build's SOURCE_DATE_EPOCH.</summary>
    public required long SourceDateEpoch { get; init; }
}

/// <summary>Writes the SBOM of an image and signs the build's outputs.</summary>
public static class BuildAttestation
{
    /// <summary>
    /// The SBOM of <paramref name="imageFile"/>: OS packages, preloaded images by digest, our own components (the builder,
    /// and each file of the runtime release by its SHA-256; a shared library as a library).
    /// </summary>
    public static byte[] Sbom(string imageFile, BuildFacts facts) => CycloneDxWriter.Write(new SbomInput
    {
        Subject = imageFile,
        Packages = facts.Packages,
        Images = facts.Inputs.Where(i => i.Kind == "image").Select(i => ContainerImage.Parse($"{i.Name}@sha256:{i.Sha256}")).ToList(),
        OwnComponents =
        [
            new("appliance", facts.BuilderVersion),
            .. facts.RuntimeFiles.Select(f => f.Name.EndsWith(".so", StringComparison.Ordinal) ? f with { Type = "library" }
                : f.Name.EndsWith(".tar", StringComparison.Ordinal) ? f with { Type = "container" } : f),
        ],
        ToolVersion = facts.BuilderVersion,
        SourceDateEpoch = facts.SourceDateEpoch,
    });

    /// <summary>The provenance every output of the build is signed with; it names the SBOM by name and digest.</summary>
    public static Provenance Provenance(BuildFacts facts, string sbomName, byte[] sbom) => new()
    {
        Profile = new ResourceDescriptor(facts.ProfileName, facts.ProfileSha256, "profile"),
        Inputs = facts.Inputs.Select(i => new ResourceDescriptor(i.Name, i.Sha256, i.Kind, i.Uri)).ToList(),
        BuilderVersion = facts.BuilderVersion,
        SourceDateEpoch = facts.SourceDateEpoch,
        Sbom = new ResourceDescriptor(sbomName, Convert.ToHexStringLower(SHA256.HashData(sbom)), "sbom", null, CycloneDxWriter.MediaType),
    };

    /// <summary>The bundle path of an output (<c>FILE.sigstore.json</c>).</summary>
    public static string BundlePath(string output) => output + ".sigstore.json";

    /// <summary>
    /// Signs each of <paramref name="outputs"/> (a file and its SHA-256, taken as it was written) with a DSSE bundle over
    /// an in-toto statement whose predicate is <paramref name="provenance"/>; the files are not read again.
    /// Deterministic (RFC 6979): the same outputs, key and provenance give the same bytes.
    /// </summary>
    public static IReadOnlyList<string> Sign(SigningKey key, Provenance provenance, IEnumerable<(string Path, byte[] Sha256)> outputs) =>
        outputs.Select(o =>
        {
            var bundle = Signer.CreateBundle(Path.GetFileName(o.Path), o.Sha256, key, provenance, BundleFormat.Dsse);
            AtomicFile.Write(BundlePath(o.Path), Signing.Bundle.BundleJson.Write(bundle));
            return BundlePath(o.Path);
        }).ToList();

    /// <summary>Writes <paramref name="bytes"/> through a temporary file and a rename.</summary>
    public static void WriteFile(string path, byte[] bytes) => AtomicFile.Write(path, bytes);
}
