// Facts about this machine for the Node object: capacity, system info and resource pressure, read from /proc and /sys.
using System.Runtime.InteropServices;

namespace Appliance.ClusterRuntime.Agent.Node;

/// <summary>What the Node status reports about the machine, read once per status computation.</summary>
public sealed record MachineInfo(
    int Cpus, long MemoryBytes, long MemoryAvailableBytes, long StorageBytes, long StorageAvailableBytes,
    long Tasks, long TaskLimit, string KernelVersion, string OsImage, string Architecture,
    string MachineId, string BootId, string SystemUuid)
{
    /// <summary>Memory pressure below this much available memory (the kubelet's default <c>memory.available&lt;100Mi</c>).</summary>
    public const long MemoryThreshold = 100L << 20;

    /// <summary>True under the kubelet's default hard eviction threshold for memory.</summary>
    public bool MemoryPressure => MemoryAvailableBytes < MemoryThreshold;

    /// <summary>True when the data directory's filesystem has less than 10 % free (the kubelet's <c>nodefs.available&lt;10%</c>).</summary>
    public bool DiskPressure => StorageAvailableBytes * 10 < StorageBytes;

    /// <summary>True when more than 90 % of the kernel's task limit is in use.</summary>
    public bool PidPressure => Tasks * 10 > TaskLimit * 9;

    /// <summary>Reads the facts; <paramref name="dataDir"/> names the filesystem counted as ephemeral storage.</summary>
    public static MachineInfo Read(string dataDir)
    {
        var meminfo = ReadKeyValues("/proc/meminfo", ':');
        long Kib(string key) => meminfo.TryGetValue(key, out var v) && long.TryParse(v.Split(' ')[0], out var n) ? n * 1024 : 0;
        var drive = new DriveInfo(Path.GetFullPath(dataDir));
        var loadavg = ReadFirstLine("/proc/loadavg").Split(' ');
        var tasks = loadavg.Length > 3 && loadavg[3].Split('/') is [_, var total] && long.TryParse(total, out var t) ? t : 0;
        var pidMax = long.TryParse(ReadFirstLine("/proc/sys/kernel/pid_max"), out var p) ? p : 32768;
        var threadsMax = long.TryParse(ReadFirstLine("/proc/sys/kernel/threads-max"), out var tm) ? tm : pidMax;
        var osRelease = ReadKeyValues("/etc/os-release", '=');
        return new MachineInfo(
            Cpus: CountCpus(),
            MemoryBytes: Kib("MemTotal"),
            MemoryAvailableBytes: Kib("MemAvailable"),
            StorageBytes: drive.TotalSize,
            StorageAvailableBytes: drive.AvailableFreeSpace,
            Tasks: tasks,
            TaskLimit: Math.Min(pidMax, threadsMax),
            KernelVersion: ReadFirstLine("/proc/sys/kernel/osrelease"),
            OsImage: osRelease.TryGetValue("PRETTY_NAME", out var pretty) ? pretty.Trim('"') : "Linux",
            Architecture: GoArch(RuntimeInformation.OSArchitecture),
            MachineId: ReadFirstLine("/etc/machine-id"),
            BootId: ReadFirstLine("/proc/sys/kernel/random/boot_id"),
            SystemUuid: ReadFirstLine("/sys/class/dmi/id/product_uuid"));
    }

    /// <summary>The Kubernetes (Go) name of an architecture: amd64, arm64, arm.</summary>
    public static string GoArch(Architecture a) => a switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "amd64",
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        System.Runtime.InteropServices.Architecture.Arm => "arm",
        System.Runtime.InteropServices.Architecture.X86 => "386",
        var other => other.ToString().ToLowerInvariant(),
    };

    // Online CPUs of the machine (not the process's affinity): the kubelet reports the machine's cores.
    static int CountCpus()
    {
        var online = ReadFirstLine("/sys/devices/system/cpu/online");
        if (online.Length == 0) return Environment.ProcessorCount;
        var count = 0;
        foreach (var range in online.Split(','))
        {
            var ends = range.Split('-');
            if (!int.TryParse(ends[0], out var first)) return Environment.ProcessorCount;
            count += ends.Length == 2 && int.TryParse(ends[1], out var last) ? last - first + 1 : 1;
        }
        return count;
    }

    static string ReadFirstLine(string path)
    {
        try { return File.ReadLines(path).FirstOrDefault()?.Trim() ?? ""; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }

    static Dictionary<string, string> ReadKeyValues(string path, char separator)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                var at = line.IndexOf(separator);
                if (at > 0) values[line[..at].Trim()] = line[(at + 1)..].Trim();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return values;
    }
}
