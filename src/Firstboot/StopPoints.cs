// The test hook that stops first boot dead at a named point, as a power cut would.
using System.Runtime.InteropServices;

namespace Appliance.Firstboot;

/// <summary>
/// When the environment variable <see cref="Variable"/> names a point (<c>before:STEP</c>, <c>after:STEP</c>, or a
/// point inside a step such as <c>partition:mkfs-done</c>), the process sends itself SIGKILL when it reaches it: no
/// handler, no flush, no cleanup runs, as after a power cut (except that the kernel keeps what was written). Used by
/// the power-cut tests; unset on a device.
/// </summary>
public static class StopPoints
{
    /// <summary>The environment variable naming the point.</summary>
    public const string Variable = "APPLIANCE_FIRSTBOOT_STOP_AT";

    private static readonly string? Target = Environment.GetEnvironmentVariable(Variable);

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    /// <summary>Stops the process when <paramref name="point"/> is the named one.</summary>
    public static void Reach(string point)
    {
        if (Target is null || !string.Equals(Target, point, StringComparison.Ordinal)) return;
        Console.Error.WriteLine($"appliance-firstboot: stopping at {point} ({Variable})");
        Console.Error.Flush();
        kill(Environment.ProcessId, 9);
        Thread.Sleep(Timeout.Infinite);
    }
}
