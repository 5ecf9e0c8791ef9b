// Step 4: the clock is never earlier than the image's build time (boards without a real-time clock start in 1970).
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Appliance.Firstboot.Steps;

/// <summary>Moves the system clock forward to the image's <c>sourceDateEpoch</c> when it is behind it.</summary>
public static class ClockFloor
{
    /// <summary>The build time recorded in build.json, or null when the file or the field is missing.</summary>
    public static long? BuildEpoch(string buildJson)
    {
        if (!File.Exists(buildJson)) return null;
        try { return (JsonNode.Parse(File.ReadAllBytes(buildJson)) as JsonObject)?["sourceDateEpoch"]?.GetValue<long>(); }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{buildJson}: sourceDateEpoch is not a number: {e.Message}");
        }
    }

    /// <summary>
    /// Sets the clock to <paramref name="floor"/> when <paramref name="now"/> is earlier; returns the time set, or null.
    /// <paramref name="set"/> false only reports (host tests must not move the host's clock).
    /// </summary>
    public static DateTimeOffset? Apply(long floor, DateTimeOffset now, bool set)
    {
        if (now.ToUnixTimeSeconds() >= floor) return null;
        var to = DateTimeOffset.FromUnixTimeSeconds(floor);
        if (set) SetRealtime(floor);
        return to;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int clock_settime(int clockId, long[] timespec);

    private static void SetRealtime(long seconds)
    {
        // struct timespec { time_t tv_sec; long tv_nsec; }: two 64-bit words on 64-bit Linux (armv7's 32-bit time_t is not handled).
        if (IntPtr.Size != 8) throw new PlatformNotSupportedException("setting the clock needs a 64-bit time_t");
        if (clock_settime(0, [seconds, 0]) != 0)
            throw new IOException($"cannot set the clock to {DateTimeOffset.FromUnixTimeSeconds(seconds):u}: {Marshal.GetLastPInvokeErrorMessage()}");
    }
}
