// `appliance verify FILE --key PUB [--bundle B] [--output json]`.
using System.CommandLine;

namespace Appliance.ImageBuilder.Cli.Verify;

/// <summary>Defines <c>appliance verify</c>.</summary>
public static class VerifyCommandDefinition
{
    /// <summary>The signed file.</summary>
    public static readonly Argument<string> File = new("FILE") { Description = "The signed file" };

    /// <summary>The public key.</summary>
    public static readonly Option<string> Key = new("--key", "-k")
    {
        Description = "Public key (SPKI PEM) the bundle must be signed with",
        Required = true,
    };

    /// <summary>The bundle.</summary>
    public static readonly Option<string?> Bundle = new("--bundle")
    {
        Description = "Sigstore bundle (default FILE.sigstore.json)",
    };

    /// <summary>Creates the <c>verify</c> command.</summary>
    public static Command Create(CliContext ctx)
    {
        var c = new Command("verify", "Verify a file against its Sigstore bundle and a public key, offline; exit 0 verified, 1 not");
        c.Arguments.Add(File);
        c.Options.Add(Key);
        c.Options.Add(Bundle);
        c.Options.Add(GlobalOptions.Output);
        c.SetAction(p => new VerifyCommand(ctx).Run(
            p.GetValue(File)!, p.GetValue(Key)!, p.GetValue(Bundle), p.GetValue(GlobalOptions.Output)));
        return c;
    }
}
