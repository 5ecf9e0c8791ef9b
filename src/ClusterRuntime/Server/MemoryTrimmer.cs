// Gives memory back to the OS once a burst of requests is over, so RSS returns near idle (see README.md, "Memory").
using System.Runtime;

namespace Appliance.ClusterRuntime.Server;

/// <summary>
/// The GC only runs when something allocates, so after a burst of large lists the freed large-object memory would
/// stay committed while the server sits idle. Two seconds after the last request of a burst finishes, if the GC
/// heap's committed memory grew by more than <see cref="Growth"/> since the last trim, one aggressive, compacting
/// collection returns it to the OS.
/// </summary>
public sealed class MemoryTrimmer : IDisposable
{
    /// <summary>Committed growth that is worth a collection: 32 MiB.</summary>
    public const long Growth = 32L * 1024 * 1024;

    static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2);
    readonly Timer _timer;
    long _baseline;

    /// <summary>Creates an idle trimmer.</summary>
    public MemoryTrimmer()
    {
        _timer = new Timer(_ => Trim(), null, Timeout.Infinite, Timeout.Infinite);
        _baseline = GC.GetGCMemoryInfo().TotalCommittedBytes;
    }

    /// <summary>(Re)starts the quiet period; called when the last in-flight request finishes.</summary>
    public void Schedule() => _timer.Change(Quiet, Timeout.InfiniteTimeSpan);

    void Trim()
    {
        var committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
        if (committed < Volatile.Read(ref _baseline) + Growth) return;
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Volatile.Write(ref _baseline, GC.GetGCMemoryInfo().TotalCommittedBytes);
    }

    /// <inheritdoc />
    public void Dispose() => _timer.Dispose();
}
