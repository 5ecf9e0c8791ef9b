// `appliance sign FILE --key KEY [--format dsse|message] [--provenance JSON] [--sbom FILE]`.
using System.CommandLine;

namespace Appliance.ImageBuilder.Cli.Sign;

/// <summary>Defines <c>appliance sign</c>.</summary>
public static class SignCommandDefinition
{
    /// <summary>The file to sign.</summary>
    public static readonly Argument<string> File = new("FILE") { Description = "The file to sign" };

    /// <summary>The encrypted private key.</summary>
    public static readonly Option<string> Key = new("--key", "-k")
    {
        Description = "Encrypted private key (PEM) from 'appliance key generate'; password from APPLIANCE_KEY_PASSWORD or a prompt",
        Required = true,
    };

    /// <summary>The bundle content form.</summary>
    public static readonly Option<string> Format = CreateFormat();

    /// <summary>A JSON file describing the build's inputs.</summary>
    public static readonly Option<string?> ProvenanceFile = new("--provenance")
    {
        Description = "JSON file with the build provenance (profile, inputs, sbom); see Signing/README.md",
    };

    /// <summary>An SBOM to list in the provenance.</summary>
    public static readonly Option<string?> Sbom = new("--sbom")
    {
        Description = "CycloneDX SBOM of FILE; its name and digest go into the signed provenance",
    };

    /// <summary>Where to write the bundle.</summary>
    public static readonly Option<string?> Bundle = new("--bundle")
    {
        Description = "Bundle path (default FILE.sigstore.json)",
    };

    private static Option<string> CreateFormat()
    {
        var o = new Option<string>("--format")
        {
            Description = "dsse: in-toto statement with provenance (default); message: bare signature over the file",
            DefaultValueFactory = _ => "dsse",
        };
        o.AcceptOnlyFromAmong("dsse", "message");
        return o;
    }

    /// <summary>Creates the <c>sign</c> command.</summary>
    public static Command Create(CliContext ctx)
    {
        var c = new Command("sign", "Sign a file into a Sigstore bundle (FILE.sigstore.json)");
        c.Arguments.Add(File);
        c.Options.Add(Key);
        c.Options.Add(Format);
        c.Options.Add(ProvenanceFile);
        c.Options.Add(Sbom);
        c.Options.Add(Bundle);
        c.Options.Add(GlobalOptions.Output);
        c.SetAction(p => new SignCommand(ctx).Run(new SignRequest(
            p.GetValue(File)!, p.GetValue(Key)!, p.GetValue(Format) == "message" ? Signing.BundleFormat.Message : Signing.BundleFormat.Dsse,
            p.GetValue(ProvenanceFile), p.GetValue(Sbom), p.GetValue(Bundle), p.GetValue(GlobalOptions.Output))));
        return c;
    }
}
