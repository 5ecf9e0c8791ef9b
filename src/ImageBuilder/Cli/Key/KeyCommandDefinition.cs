// `appliance key generate -o DIR`: the key verb and its options.
using System.CommandLine;

namespace Appliance.ImageBuilder.Cli.Key;

/// <summary>Defines <c>appliance key</c> and its subcommands.</summary>
public static class KeyCommandDefinition
{
    /// <summary>The directory the key pair goes to.</summary>
    public static readonly Option<string> OutputDirectory = new("--out-dir", "-o")
    {
        Description = "Directory to write appliance.key (encrypted private key) and appliance.pub into",
        Required = true,
    };

    /// <summary>Creates the <c>key</c> command.</summary>
    public static Command Create(CliContext ctx)
    {
        var generate = new Command("generate", "Create an ECDSA P-256 signing key pair; the password comes from APPLIANCE_KEY_PASSWORD or a prompt");
        generate.Options.Add(OutputDirectory);
        generate.SetAction(parse => new KeyGenerateCommand(ctx).Run(parse.GetValue(OutputDirectory)!));
        var key = new Command("key", "Manage signing keys");
        key.Subcommands.Add(generate);
        return key;
    }
}
