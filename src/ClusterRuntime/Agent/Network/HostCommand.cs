// Runs the node's network tools (ip, nft, conntrack) as child processes, optionally inside a network namespace.
using System.Diagnostics;

namespace Appliance.ClusterRuntime.Agent.Network;

/// <summary>What a command printed and how it ended.</summary>
/// <param name="ExitCode">The exit code.</param>
/// <param name="Out">Standard output.</param>
/// <param name="Error">Standard error.</param>
public sealed record HostCommandResult(int ExitCode, string Out, string Error)
{
    /// <summary>Whether the command succeeded.</summary>
    public bool Ok => ExitCode == 0;
}

/// <summary>A command failed, or could not run; the message names it, its exit code and what it said.</summary>
public sealed class HostCommandException(string message) : Exception(message)
{
    /// <summary>The tool is not installed (it could not be started at all).</summary>
    public bool ToolMissing { get; init; }
}

/// <summary>
/// Starts tools with arguments (never through a shell), feeds optional stdin, and waits with a time limit (the tree is
/// killed past it). <paramref name="prefix"/> runs every command through e.g. <c>nsenter --net=/run/netns/NS</c>,
/// so a test can point the agent's network code at a namespace of its own.
/// </summary>
public sealed class HostCommand(IReadOnlyList<string>? prefix = null)
{
    /// <summary>How long one command may take.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs <paramref name="tool"/> and returns its result whatever the exit code.</summary>
    public async Task<HostCommandResult> RunAsync(string tool, IEnumerable<string> args, string? stdin = null, CancellationToken ct = default)
    {
        var argv = (prefix ?? []).Concat([tool]).Concat(args).ToList();
        var start = new ProcessStartInfo(argv[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in argv.Skip(1)) start.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new HostCommandException($"{argv[0]} could not be started");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new HostCommandException($"{argv[0]} cannot be run ({e.Message}); is it installed?") { ToolMissing = true };
        }
        using var _ = process;
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var error = process.StandardError.ReadToEndAsync(ct);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(Timeout);
        try
        {
            // A tool that stops reading early (nft on a syntax error) closes the pipe: its exit code and message tell why.
            try
            {
                if (stdin is not null) await process.StandardInput.WriteAsync(stdin.AsMemory(), limit.Token);
                process.StandardInput.Close();
            }
            catch (IOException) { }
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            if (ct.IsCancellationRequested) throw;
            throw new HostCommandException($"{string.Join(' ', argv)} did not finish within {Timeout.TotalSeconds:F0} s");
        }
        return new HostCommandResult(process.ExitCode, await output, await error);
    }

    /// <summary>Runs <paramref name="tool"/> and throws <see cref="HostCommandException"/> unless it succeeds.</summary>
    public async Task<string> RunCheckedAsync(string tool, IEnumerable<string> args, string? stdin = null, CancellationToken ct = default)
    {
        var list = args.ToList();
        var r = await RunAsync(tool, list, stdin, ct);
        if (!r.Ok) throw new HostCommandException($"{tool} {string.Join(' ', list)} failed (exit {r.ExitCode}): {r.Error.Trim()}");
        return r.Out;
    }
}
