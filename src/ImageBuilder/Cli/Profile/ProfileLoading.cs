// Loading a profile from a CLI verb: debug lines under --verbose, problems on stderr, all redacted.
using Appliance.ImageBuilder.Profiles;

namespace Appliance.ImageBuilder.Cli.Profile;

/// <summary>Shared by the profile verbs (and later by <c>build</c>).</summary>
public static class ProfileLoading
{
    /// <summary>
    /// Loads <paramref name="file"/> with the context's environment. Under <paramref name="verbose"/> the
    /// loader's debug lines are printed to stderr once the secrets are known, so they can be redacted.
    /// </summary>
    public static LoadResult Load(CliContext ctx, string file, bool verbose)
    {
        var lines = new List<string>();
        var result = new ProfileLoader(ctx.GetEnvironment, verbose ? lines.Add : null).Load(file);
        foreach (var line in lines)
            ctx.Error.WriteLine("debug: " + result.Secrets.Redactor.Redact(line));
        return result;
    }

    /// <summary>Writes each problem of <paramref name="result"/> as one line.</summary>
    public static void WriteProblems(TextWriter error, LoadResult result)
    {
        foreach (var p in result.Problems)
            error.WriteLine(result.Secrets.Redactor.Redact(p.ToString()));
    }
}
