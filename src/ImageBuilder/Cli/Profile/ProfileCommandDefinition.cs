// The `appliance profile` verb and its subcommands: validate, render, schema.
using System.CommandLine;

namespace Appliance.ImageBuilder.Cli.Profile;

/// <summary>Defines <c>appliance profile validate|render|schema</c>.</summary>
public static class ProfileCommandDefinition
{
    /// <summary>Profile files to validate.</summary>
    public static readonly Argument<string[]> Files = new("FILE")
    {
        Description = "Site profile files (YAML)",
        Arity = ArgumentArity.OneOrMore,
    };

    /// <summary>The one profile file to render.</summary>
    public static readonly Argument<string> File = new("FILE") { Description = "Site profile file (YAML)" };

    /// <summary>Creates the <c>profile</c> command.</summary>
    public static Command Create(CliContext ctx)
    {
        var profile = new Command("profile", "Check, render and describe site profiles");

        var validate = new Command("validate", "Check site profiles and report every problem as FILE:LINE:COL: field: message")
        {
            Files, GlobalOptions.Output,
        };
        validate.SetAction(p => new ProfileValidateCommand(ctx, p.GetValue(GlobalOptions.Verbose))
            .Execute(p.GetValue(Files)!, p.GetValue(GlobalOptions.Output)));

        var render = new Command("render", "Print the merged, resolved profile with secrets redacted")
        {
            File, GlobalOptions.Output,
        };
        render.SetAction(p => new ProfileRenderCommand(ctx, p.GetValue(GlobalOptions.Verbose))
            .Execute(p.GetValue(File)!, p.GetValue(GlobalOptions.Output)));

        var schema = new Command("schema", "Print the JSON Schema (draft 2020-12) of site profiles, for editors")
        {
            GlobalOptions.Output,
        };
        schema.SetAction(_ => new ProfileSchemaCommand(ctx).Execute());

        profile.Subcommands.Add(validate);
        profile.Subcommands.Add(render);
        profile.Subcommands.Add(schema);
        return profile;
    }
}
