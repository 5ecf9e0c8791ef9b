// A read-only window on a file, read with positional reads so several windows can share one handle.
using Microsoft.Win32.SafeHandles;

namespace Appliance.ImageBuilder.IO;

/// <summary>
/// Bytes [offset, offset+length) of a file: an archive member, or a flattened file's content in a layer blob.
/// A file ending early is an <see cref="EndOfStreamException"/>.
/// </summary>
/// <param name="handle">The file; shared, positional reads only.</param>
/// <param name="offset">Start of the window.</param>
/// <param name="length">Length of the window.</param>
/// <param name="owner">Disposed with the stream (the file the window owns), or null when the handle is shared.</param>
internal sealed class FileSliceStream(SafeFileHandle handle, long offset, long length, IDisposable? owner = null) : ReadOnlyStream
{
    private long _pos;

    /// <summary>A window that owns <paramref name="file"/> and closes it when disposed.</summary>
    public static FileSliceStream Owning(FileStream file, long offset, long length) => new(file.SafeFileHandle, offset, length, file);

    public override long Length => length;
    public override long Position => _pos;

    public override int Read(Span<byte> buffer)
    {
        var left = length - _pos;
        if (left <= 0)
            return 0;
        if (buffer.Length > left)
            buffer = buffer[..(int)left];
        var n = RandomAccess.Read(handle, buffer, offset + _pos);
        if (n == 0)
            throw new EndOfStreamException($"file ended {left} bytes before the end of the archive member");
        _pos += n;
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            owner?.Dispose();
        base.Dispose(disposing);
    }
}
