// A read-only window on a file, read with positional reads so several windows can share one handle.
using Microsoft.Win32.SafeHandles;

namespace Appliance.ImageBuilder.Store.Sources;

/// <summary>Bytes [offset, offset+length) of a file.</summary>
internal sealed class SliceStream(SafeFileHandle handle, long offset, long length) : Stream
{
    private long _pos;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _pos; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset1, int count) => Read(buffer.AsSpan(offset1, count));

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

    public override void Flush() { }
    public override long Seek(long o, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int o, int count) => throw new NotSupportedException();
}

/// <summary>A window on a file that owns (and closes) the file.</summary>
internal sealed class OwnedSliceStream(FileStream file, long offset, long length) : Stream
{
    private readonly SliceStream _slice = new(file.SafeFileHandle, offset, length);

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _slice.Position; set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int o, int count) => _slice.Read(buffer, o, count);
    public override int Read(Span<byte> buffer) => _slice.Read(buffer);
    public override void Flush() { }
    public override long Seek(long o, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int o, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            file.Dispose();
        base.Dispose(disposing);
    }
}
