// `appliance profile render FILE`: prints the merged, resolved profile with secrets redacted.
using Appliance.ImageBuilder.Profiles.Rendering;

namespace Appliance.ImageBuilder.Cli.Profile;

/// <summary>Renders one profile as YAML (default) or JSON.</summary>
public sealed class ProfileRenderCommand(CliContext ctx, bool verbose)
{
    /// <summary>Renders <paramref name="file"/>; exit 2 with every problem when it is not valid.</summary>
    public int Execute(string file, OutputFormat output)
    {
        var result = ProfileLoading.Load(ctx, file, verbose);
        if (result.Profile is not { } profile)
        {
            ProfileLoading.WriteProblems(ctx.Error, result);
            ctx.Error.WriteLine($"appliance: {result.File} has {result.Problems.Count} problem(s); nothing rendered");
            return ExitCodes.BadInput;
        }
        var renderer = new ProfileRenderer(Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".");
        var text = output == OutputFormat.Json ? renderer.ToJson(profile) : renderer.ToYaml(profile);
        // Secret fields are already replaced; this also catches a secret that reached another field
        // (for example through a secret-named environment variable).
        ctx.Out.Write(result.Secrets.Redactor.Redact(text));
        return ExitCodes.Ok;
    }
}
