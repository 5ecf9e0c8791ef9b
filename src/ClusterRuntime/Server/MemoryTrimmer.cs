// Gives memory back to the OS once a burst of requests is over, so RSS returns near idle (see README.md, "Memory").
using System.Runtime;

namespace Appliance.ClusterRuntime.Server;

/// <summary>
/// The GC only runs when something allocates, so after a burst of large lists the freed large-object memory would
/// stay committed while the server sits idle, and the C heap (TLS and SQLite buffers) keeps what it freed. Two
/// seconds after the last request of a burst finishes, if more than <see cref="Growth"/> was allocated since the last
/// trim, one aggressive, compacting collection returns the GC's free memory to the OS and glibc's
/// <c>malloc_trim</c> does the same for the C heap.
/// </summary>
public sealed class MemoryTrimmer : IDisposable
{
    /// <summary>Allocation since the last trim that is worth one: 64 MiB.</summary>
    public const long Growth = 64L * 1024 * 1024;

    static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2);
    readonly Timer _timer;
    long _baseline;

    /// <summary>Creates an idle trimmer.</summary>
    public MemoryTrimmer()
    {
        _timer = new Timer(_ => Trim(), null, Timeout.Infinite, Timeout.Infinite);
        _baseline = GC.GetTotalAllocatedBytes();
    }

    /// <summary>
    /// Bounds what glibc's allocator keeps of the C heap. SQLite copies each large row it reads (a 2.9 MB ConfigMap)
    /// into C-heap memory; glibc gives each busy thread an arena of its own (up to 8 per core) and keeps what they
    /// freed. Under CPU load, 8 concurrent lists plus the informers' catch-ups left 13 to 15 arenas holding 260 to
    /// 330 MB of such copies (measured in the server's /proc/PID/smaps), above the GC heap. Two arenas, and blocks of
    /// 256 KiB or more mapped on their own and unmapped when freed (a fixed threshold, which also stops glibc raising
    /// it to the largest block freed), brought the arenas to about 50 MB in the same run.
    /// Call once at start; does nothing where the C library is not glibc.
    /// </summary>
    public static void ConfigureCHeap()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            MallOpt(MmapThreshold, 256 * 1024);
            MallOpt(ArenaMax, 2);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            // Not glibc.
        }
    }

    /// <summary>(Re)starts the quiet period; called when the last in-flight request finishes.</summary>
    public void Schedule() => _timer.Change(Quiet, Timeout.InfiniteTimeSpan);

    void Trim()
    {
        var allocated = GC.GetTotalAllocatedBytes();
        if (allocated < Volatile.Read(ref _baseline) + Growth) return;
        Volatile.Write(ref _baseline, allocated);
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            // Not glibc (musl has no malloc_trim): the GC part is done.
        }
    }

    /// <summary>glibc's <c>M_MMAP_THRESHOLD</c> parameter of <c>mallopt</c>.</summary>
    const int MmapThreshold = -3;

    /// <summary>glibc's <c>M_ARENA_MAX</c> parameter of <c>mallopt</c>.</summary>
    const int ArenaMax = -8;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mallopt")]
    static extern int MallOpt(int param, int value);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int MallocTrim(nuint pad);

    /// <inheritdoc />
    public void Dispose() => _timer.Dispose();
}
