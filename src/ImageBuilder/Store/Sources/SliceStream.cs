// A read-only window on a file, read with positional reads so several windows can share one handle.
using Microsoft.Win32.SafeHandles;
using Appliance.ImageBuilder.IO;

namespace Appliance.ImageBuilder.Store.Sources;

/// <summary>Bytes [offset, offset+length) of a file.</summary>
internal sealed class SliceStream(SafeFileHandle handle, long offset, long length) : ReadOnlyStream
{
    private long _pos;

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

}

/// <summary>A window on a file that owns (and closes) the file.</summary>
internal sealed class OwnedSliceStream(FileStream file, long offset, long length) : ReadOnlyStream
{
    private readonly SliceStream _slice = new(file.SafeFileHandle, offset, length);

    public override long Length => length;
    public override long Position => _slice.Position;
    public override int Read(Span<byte> buffer) => _slice.Read(buffer);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            file.Dispose();
        base.Dispose(disposing);
    }
}
