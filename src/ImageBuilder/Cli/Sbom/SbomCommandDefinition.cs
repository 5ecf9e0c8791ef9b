// `appliance sbom --dpkg-status FILE [--image REF@sha256:D ...] [--name NAME] -o FILE`.
using System.CommandLine;

namespace Appliance.ImageBuilder.Cli.Sbom;

/// <summary>Defines <c>appliance sbom</c>.</summary>
public static class SbomCommandDefinition
{
    /// <summary>The OS image's dpkg status file.</summary>
    public static readonly Option<string> DpkgStatus = new("--dpkg-status")
    {
        Description = "dpkg status file of the OS image (var/lib/dpkg/status)",
        Required = true,
    };

    /// <summary>Preloaded images.</summary>
    public static readonly Option<string[]> Images = new("--image")
    {
        Description = "A preloaded container image as NAME[:TAG]@sha256:DIGEST (repeatable)",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>The SBOM's subject.</summary>
    public static readonly Option<string?> Name = new("--name")
    {
        Description = "Name of the image the SBOM describes (default: the output file name without .cdx.json)",
    };

    /// <summary>The output file.</summary>
    public static readonly Option<string> OutputFile = new("--out", "-o")
    {
        Description = "Where to write the CycloneDX 1.6 JSON SBOM",
        Required = true,
    };

    /// <summary>Creates the <c>sbom</c> command.</summary>
    public static Command Create(CliContext ctx)
    {
        var c = new Command("sbom", "Write a CycloneDX 1.6 JSON SBOM: OS packages, preloaded images, appliance components");
        c.Options.Add(DpkgStatus);
        c.Options.Add(Images);
        c.Options.Add(Name);
        c.Options.Add(OutputFile);
        c.SetAction(p => new SbomCommand(ctx).Run(
            p.GetValue(DpkgStatus)!, p.GetValue(Images) ?? [], p.GetValue(Name), p.GetValue(OutputFile)!));
        return c;
    }
}
