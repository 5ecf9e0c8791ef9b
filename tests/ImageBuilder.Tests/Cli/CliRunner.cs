// Runs the `appliance` CLI in-process and captures its streams and exit code.
using Appliance.ImageBuilder.Cli;

namespace Appliance.ImageBuilder.Tests.Cli;

/// <summary>The result of one in-process CLI run.</summary>
public sealed record CliResult(int ExitCode, string Out, string Error);

/// <summary>Helpers for running the CLI in tests.</summary>
public static class CliRunner
{
    /// <summary>Runs the CLI with the given arguments and environment overrides.</summary>
    public static CliResult Run(IReadOnlyDictionary<string, string?>? env, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var ctx = new CliContext(o, e, name =>
            env != null && env.TryGetValue(name, out var v) ? v : Environment.GetEnvironmentVariable(name));
        var code = CliRoot.Run(args, ctx);
        return new CliResult(code, o.ToString(), e.ToString());
    }

    /// <summary>Runs the CLI with the given arguments.</summary>
    public static CliResult Run(params string[] args) => Run(null, args);
}
