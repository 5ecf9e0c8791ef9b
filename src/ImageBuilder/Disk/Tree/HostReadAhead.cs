// Starts the kernel reading host files into the page cache a bounded distance ahead of a reader that takes them in order.
namespace Appliance.ImageBuilder.Disk.Tree;

/// <summary>
/// For a writer that reads many host files one after another on one thread (the SquashFS data pass): a background
/// thread asks the kernel to read the coming files (posix_fadvise WILLNEED, in 4 MiB requests because the kernel cuts
/// each request to the device's read-ahead size), up to <c>window</c> bytes ahead of the file the writer has reached. On a cold page cache the disk then works on several files while the writer
/// compresses, instead of the writer waiting for each small file in turn. Only a hint: errors are ignored, and
/// content that is not a host file is skipped.
/// </summary>
internal sealed class HostReadAhead : IDisposable
{
    private readonly IReadOnlyList<FileContent> _files;
    private readonly long _window;
    private readonly Thread _thread;
    private readonly object _gate = new();
    private long _consumedBytes;
    private bool _stop;

    public HostReadAhead(IReadOnlyList<FileContent> files, long window = 256L << 20)
    {
        _files = files;
        _window = window;
        _thread = new Thread(Run) { IsBackground = true, Name = "read-ahead" };
        _thread.Start();
    }

    /// <summary>The reader has finished with files totalling <paramref name="bytes"/> more.</summary>
    public void Consumed(long bytes)
    {
        lock (_gate) { _consumedBytes += bytes; Monitor.PulseAll(_gate); }
    }

    private void Run()
    {
        long issued = 0;
        foreach (var f in _files)
        {
            lock (_gate)
            {
                while (!_stop && issued - _consumedBytes > _window) Monitor.Wait(_gate);
                if (_stop) return;
            }
            issued += f.Length;
            if (f is HostFileContent h && h.Length > 0) Native.WillNeed(h.HostPath, h.HostOffset, h.Length);
        }
    }

    public void Dispose()
    {
        lock (_gate) { _stop = true; Monitor.PulseAll(_gate); }
        _thread.Join();
    }
}
