// Runs one appliance-runtime verb to its exit (or kills it after a timeout), for command-line tests.
namespace Appliance.ClusterRuntime.Tests.Support;

/// <summary>One finished appliance-runtime invocation.</summary>
/// <param name="Code">Exit code; -1 when it was still running at the timeout (and was killed).</param>
/// <param name="Stdout">Standard output.</param>
/// <param name="Stderr">Standard error.</param>
public sealed record CliResult(int Code, string Stdout, string Stderr)
{
    /// <summary>Stderr lines that start with <paramref name="prefix"/>.</summary>
    public IReadOnlyList<string> Lines(string prefix) =>
        Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).ToList();
}

/// <summary>Starts <c>appliance-runtime ARGS</c> (<see cref="RuntimeProcess.Program"/>) and waits for it.</summary>
public static class RuntimeCli
{
    /// <summary>Runs the verb; a process still running after <paramref name="timeout"/> is killed and reported with code -1.</summary>
    /// <remarks>Here a run that does not end is an outcome (a server that started when it should have refused), not a failure.</remarks>
    public static async Task<CliResult> RunAsync(TimeSpan timeout, params string[] args)
    {
        using var p = ProcessRunner.Start(RuntimeProcess.Program, RuntimeProcess.Arguments(args));
        if (!await p.WaitUntilAsync(c => c.HasExited, timeout))
        {
            p.Kill();
            var killed = await p.WaitAsync(TimeSpan.FromSeconds(30));
            return new CliResult(-1, killed.Out, killed.Error);
        }
        var r = await p.WaitAsync(TimeSpan.FromSeconds(30));
        return new CliResult(r.ExitCode, r.Out, r.Error);
    }
}
