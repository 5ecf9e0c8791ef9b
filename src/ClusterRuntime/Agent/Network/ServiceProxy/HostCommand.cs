// Runs nft and conntrack (behind an optional prefix such as `ip netns exec NS`) and returns what they said.
using System.Diagnostics;

namespace Appliance.ClusterRuntime.Agent.Network.ServiceProxy;

/// <summary>The outcome of one command.</summary>
public sealed record HostCommandResult(int ExitCode, string Out, string Error);

/// <summary>
/// Runs a host tool with a list of arguments (never a shell string), writes <c>stdin</c> and closes it, and reads both
/// outputs to the end. The prefix lets tests run the tools inside a network namespace; the agent runs them as they are.
/// </summary>
public sealed class HostCommand(IReadOnlyList<string>? prefix = null)
{
    readonly IReadOnlyList<string> _prefix = prefix ?? [];

    /// <summary>Runs <paramref name="file"/>; a tool that is not installed is a <see cref="FileNotFoundException"/> naming it.</summary>
    public async Task<HostCommandResult> RunAsync(string file, IEnumerable<string> args, string? stdin = null, CancellationToken ct = default)
    {
        var all = _prefix.Concat([file]).Concat(args).ToList();
        var start = new ProcessStartInfo(all[0]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in all.Skip(1)) start.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(start)!; }
        catch (System.ComponentModel.Win32Exception e) { throw new FileNotFoundException($"{all[0]} could not be started: {e.Message}", all[0], e); }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync(ct);
            var error = process.StandardError.ReadToEndAsync(ct);
            // A tool that stops reading early (nft on a syntax error) closes the pipe: its exit code and message tell why.
            try
            {
                if (stdin is not null) await process.StandardInput.WriteAsync(stdin.AsMemory(), ct);
                process.StandardInput.Close();
            }
            catch (IOException) { }
            try { await process.WaitForExitAsync(ct); }
            catch (OperationCanceledException)
            {
                try { process.Kill(); } catch (InvalidOperationException) { }
                throw;
            }
            return new HostCommandResult(process.ExitCode, await output, await error);
        }
    }
}
