// Runs one appliance-runtime verb to its exit (or kills it after a timeout), for command-line tests.
using System.Diagnostics;

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

/// <summary>Starts <c>dotnet appliance-runtime.dll ARGS</c> and waits for it.</summary>
public static class RuntimeCli
{
    /// <summary>Runs the verb; a process still running after <paramref name="timeout"/> is killed and reported with code -1.</summary>
    public static async Task<CliResult> RunAsync(TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(RuntimeProcess.ServerDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = p.StandardError.ReadToEndAsync(CancellationToken.None);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync(CancellationToken.None);
            return new CliResult(-1, await stdout, await stderr);
        }
        return new CliResult(p.ExitCode, await stdout, await stderr);
    }
}
