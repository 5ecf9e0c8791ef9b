// Runs child processes for the tests: to completion with a time limit, or started and watched.
namespace Appliance.TestSupport;

/// <summary>
/// The one way tests run other programs. Arguments are passed as a list (no shell quoting), stdout and stderr are
/// captured separately, stdin is given or empty, and a run that outlives its time limit has its whole process tree
/// killed and fails with a <see cref="TimeoutException"/> naming the command.
/// </summary>
public static class ProcessRunner
{
    /// <summary>Runs <paramref name="fileName"/> (a path, or a name looked up on PATH) to completion.</summary>
    /// <remarks>A non-zero exit code is returned, not thrown; call <see cref="ProcessResult.Ok"/> to require 0.</remarks>
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> args, ProcessOptions? options = null, CancellationToken ct = default)
    {
        using var child = Start(fileName, args, options);
        return await child.WaitAsync(ct: ct).ConfigureAwait(false);
    }

    /// <summary><see cref="RunAsync"/> for synchronous callers (it blocks the calling thread).</summary>
    public static ProcessResult Run(string fileName, IEnumerable<string> args, ProcessOptions? options = null) =>
        RunAsync(fileName, args, options).GetAwaiter().GetResult();

    /// <summary>
    /// Starts <paramref name="fileName"/> and returns at once, for servers, watches and processes a test signals or
    /// kills. Dispose the result: that kills the process tree if it still runs.
    /// </summary>
    public static ChildProcess Start(string fileName, IEnumerable<string> args, ProcessOptions? options = null) =>
        new(fileName, args, options ?? new ProcessOptions());
}
