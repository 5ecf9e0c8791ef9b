// How a child process is started: its input, environment, working directory and time limit.
namespace Appliance.TestSupport;

/// <summary>Optional settings for <see cref="ProcessRunner"/>.</summary>
public sealed record ProcessOptions
{
    /// <summary>Bytes written to stdin, which is then closed. Without them stdin is empty (closed at once).</summary>
    public byte[]? Stdin { get; init; }

    /// <summary>Variables to set in the child's environment (inherited otherwise); a null value removes one.</summary>
    public IReadOnlyDictionary<string, string?>? Environment { get; init; }

    /// <summary>The child's working directory; the test's current directory when null.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>How long a run may take before its process tree is killed and the run fails. Default 10 minutes.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);
}
