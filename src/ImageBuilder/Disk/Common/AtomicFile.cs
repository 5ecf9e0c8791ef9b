// Writes an output file under a temporary name and renames it into place only when complete.
namespace Appliance.ImageBuilder.Disk.Common;

/// <summary>
/// Creates <c>path.tmp-*</c>, hands out its stream, and renames it to the final path on <see cref="Commit"/>.
/// Disposing without committing deletes the temporary file, so nothing half-written is left behind.
/// </summary>
public sealed class AtomicFile : IDisposable
{
    private readonly string _path;
    private readonly string _temp;
    private bool _committed;

    /// <summary>Creates the temporary file next to <paramref name="path"/>.</summary>
    public AtomicFile(string path)
    {
        _path = Path.GetFullPath(path);
        _temp = _path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        Stream = new FileStream(_temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
    }

    /// <summary>The stream of the temporary file.</summary>
    public FileStream Stream { get; }

    /// <summary>Flushes, closes and renames the file into place.</summary>
    public void Commit()
    {
        Stream.Flush(true);
        Stream.Dispose();
        File.Move(_temp, _path, overwrite: true);
        _committed = true;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_committed) return;
        Stream.Dispose();
        try { File.Delete(_temp); } catch (IOException) { }
    }
}
