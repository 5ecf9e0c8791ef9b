// The libc calls the device steps need and the BCL lacks: signals to one process, setting the clock.
using System.Runtime.InteropServices;

namespace Appliance.Firstboot.Device;

internal static class Libc
{
    // DllImport rather than LibraryImport: the projects do not allow unsafe code.
    [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    private static extern int kill(int pid, int signal);

    [DllImport("libc", SetLastError = true, EntryPoint = "clock_settime")]
    private static extern int clock_settime(int clock, ref Timespec value);

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public nint Seconds;
        public nint Nanoseconds;
    }

    public const int SigKill = 9, SigTerm = 15;
    private const int ClockRealtime = 0, ESRCH = 3;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/> alone (not its group); false when it is gone.</summary>
    public static bool Signal(int pid, int signal)
    {
        if (kill(pid, signal) == 0) return true;
        if (Marshal.GetLastPInvokeError() == ESRCH) return false;
        throw new IOException($"kill({pid}, {signal}) failed: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>Steps CLOCK_REALTIME to <paramref name="time"/> (needs CAP_SYS_TIME).</summary>
    public static void SetClock(DateTimeOffset time)
    {
        long ticks = time.UtcTicks - DateTime.UnixEpoch.Ticks;
        var ts = new Timespec { Seconds = (nint)(ticks / TimeSpan.TicksPerSecond), Nanoseconds = (nint)(ticks % TimeSpan.TicksPerSecond * 100) };
        if (clock_settime(ClockRealtime, ref ts) != 0)
            throw new IOException($"cannot set the clock to {time:O}: {Marshal.GetLastPInvokeErrorMessage()}");
    }
}
