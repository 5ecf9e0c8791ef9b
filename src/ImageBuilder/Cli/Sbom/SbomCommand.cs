// Writes an SBOM from a dpkg status file and image references, through temp+rename.
using Appliance.ImageBuilder.Cli.Sign;
using Appliance.ImageBuilder.Signing.Io;
using Appliance.ImageBuilder.Signing.Sbom;

namespace Appliance.ImageBuilder.Cli.Sbom;

/// <summary>The logic of <c>appliance sbom</c>.</summary>
public sealed class SbomCommand(CliContext ctx)
{
    /// <summary>Writes the SBOM; returns the exit code.</summary>
    public int Run(string dpkgStatus, IReadOnlyList<string> images, string? name, string output)
    {
        if (!File.Exists(dpkgStatus))
            throw new UserInputException($"{dpkgStatus}: dpkg status file not found");
        var packages = DpkgStatus.ReadInstalled(dpkgStatus);
        var parsed = new List<ContainerImage>();
        foreach (var i in images)
        {
            try
            {
                parsed.Add(ContainerImage.Parse(i));
            }
            catch (InvalidDataException e)
            {
                throw new UserInputException($"--image: {e.Message}", e);
            }
        }
        var subject = name ?? DefaultName(output);
        var version = ToolInfo.Version;
        var bom = CycloneDxWriter.Write(new SbomInput
        {
            Subject = subject,
            Packages = packages,
            Images = parsed,
            OwnComponents = SbomInput.StandardOwnComponents(version),
            ToolVersion = version,
            SourceDateEpoch = ToolInfo.SourceDateEpoch(ctx),
        });
        AtomicFile.Write(output, bom);
        ctx.Out.WriteLine($"Wrote {output}: {packages.Count} Debian packages, {parsed.Count} container images, 3 appliance components");
        return ExitCodes.Ok;
    }

    private static string DefaultName(string output)
    {
        var n = Path.GetFileName(output);
        foreach (var suffix in new[] { ".cdx.json", ".json" })
            if (n.EndsWith(suffix, StringComparison.Ordinal))
                return n[..^suffix.Length];
        return n;
    }
}
