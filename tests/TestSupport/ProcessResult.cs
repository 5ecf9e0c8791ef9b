// What a finished child process left: its exit code and everything it printed.
namespace Appliance.TestSupport;

/// <summary>The outcome of one child process run to completion.</summary>
/// <param name="Command">The command line, for messages (<see cref="ChildProcess.Command"/>).</param>
/// <param name="ExitCode">The exit code; 128 + N after signal N.</param>
/// <param name="Out">Everything written to stdout.</param>
/// <param name="Error">Everything written to stderr.</param>
public sealed record ProcessResult(string Command, int ExitCode, string Out, string Error)
{
    /// <summary>Returns this result when the exit code is 0; otherwise throws, naming the command and showing its output.</summary>
    public ProcessResult Ok() =>
        ExitCode == 0 ? this : throw new ProcessFailedException(this);
}

/// <summary>A child process that was expected to succeed exited with a non-zero code.</summary>
public sealed class ProcessFailedException(ProcessResult result)
    : Exception($"{result.Command} exited {result.ExitCode}\nstdout:\n{result.Out}\nstderr:\n{result.Error}")
{
    /// <summary>The failed run.</summary>
    public ProcessResult Result { get; } = result;
}
