// Writes an output file under a temporary name and renames it into place only when complete.
namespace Appliance.ImageBuilder.Disk.Common;

/// <summary>
/// Creates <c>path.tmp-*</c>, hands out its stream, and renames it to the final path on <see cref="Commit"/>; a durable
/// file is fsynced first, so after a crash the final name holds either the old file or the whole new one.
/// Disposing without committing deletes the temporary file, so nothing half-written is left behind.
/// </summary>
public sealed class AtomicFile : IDisposable
{
    private readonly string _path;
    private readonly string _temp;
    private readonly bool _durable;
    private readonly IDisposable _interrupt;
    private bool _committed;

    /// <summary>Creates the temporary file next to <paramref name="path"/>.</summary>
    /// <param name="path">The final path.</param>
    /// <param name="durable">Whether <see cref="Commit"/> waits for the data to reach the disk before the rename.</param>
    public AtomicFile(string path, bool durable = true)
    {
        _durable = durable;
        _path = Path.GetFullPath(path);
        _temp = _path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        _interrupt = IO.InterruptCleanup.Register(_temp);
        try
        {
            Stream = new FileStream(_temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        }
        catch
        {
            _interrupt.Dispose();
            throw;
        }
    }

    /// <summary>The path of the temporary file, for writers that open it themselves (see <see cref="ImageFileStream"/>).</summary>
    public string TempPath => _temp;

    /// <summary>The stream of the temporary file.</summary>
    public FileStream Stream { get; }

    /// <summary>Flushes (to the disk if durable), closes and renames the file into place.</summary>
    public void Commit() => CommitUnfinished([]).Dispose();

    /// <summary>
    /// Commits, and from the rename on keeps the final file and <paramref name="alsoUnfinished"/> marked unfinished (an
    /// interrupt deletes them; see <see cref="IO.InterruptCleanup"/>) until the returned token is disposed. For an
    /// output that is only complete together with others written after it.
    /// </summary>
    public IDisposable CommitUnfinished(IEnumerable<string> alsoUnfinished)
    {
        Stream.Flush(_durable);
        Stream.Dispose();
        var token = IO.InterruptCleanup.Commit(_temp, _path, _interrupt, alsoUnfinished);
        _committed = true;
        return token;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_committed) return;
        Stream.Dispose();
        try { File.Delete(_temp); } catch (IOException) { }
        _interrupt.Dispose();
    }
}
