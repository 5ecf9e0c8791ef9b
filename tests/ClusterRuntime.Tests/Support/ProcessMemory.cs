// Reads a process's resident set size and its peak from /proc, and resets the peak (for black-box memory tests).
namespace Appliance.ClusterRuntime.Tests.Support;

/// <summary>RSS figures of one process, in bytes.</summary>
public static class ProcessMemory
{
    /// <summary>Current resident set size (VmRSS).</summary>
    public static long Rss(int pid) => Field(pid, "VmRSS:");

    /// <summary>Peak resident set size since start or the last <see cref="ResetPeak"/> (VmHWM).</summary>
    public static long Peak(int pid) => Field(pid, "VmHWM:");

    /// <summary>Resets VmHWM to the current RSS (writing 5 to clear_refs, Linux 4.0+).</summary>
    public static void ResetPeak(int pid) => File.WriteAllText($"/proc/{pid}/clear_refs", "5");

    /// <summary>True when /proc gives these figures here.</summary>
    public static bool Available => OperatingSystem.IsLinux() && File.Exists("/proc/self/status");

    static long Field(int pid, string name)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith(name, StringComparison.Ordinal))
                return long.Parse(line[name.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        throw new InvalidOperationException($"/proc/{pid}/status has no {name}");
    }

    /// <summary>Megabytes, for messages.</summary>
    public static string Mb(long bytes) => $"{bytes / (1024.0 * 1024):F0} MB";
}
