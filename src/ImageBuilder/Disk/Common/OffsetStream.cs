// A window onto a larger stream (one partition of a disk image), so a file system writer sees offset 0 as its start.
namespace Appliance.ImageBuilder.Disk.Common;

/// <summary>A writable, seekable window [start, start+capacity) of another stream.</summary>
public sealed class OffsetStream(Stream inner, long start, long capacity) : Stream
{
    private long _pos, _length;

    /// <summary>The largest size the window may grow to.</summary>
    public long Capacity => capacity;

    /// <inheritdoc/>
    public override bool CanRead => inner.CanRead;
    /// <inheritdoc/>
    public override bool CanSeek => true;
    /// <inheritdoc/>
    public override bool CanWrite => true;
    /// <inheritdoc/>
    public override long Length => _length;
    /// <inheritdoc/>
    public override long Position { get => _pos; set => _pos = value; }

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_pos + buffer.Length > capacity)
            throw new IOException($"write of {buffer.Length} bytes at offset {_pos} overflows the {capacity}-byte partition");
        inner.Position = start + _pos;
        inner.Write(buffer);
        _pos += buffer.Length;
        if (_pos > _length) _length = _pos;
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer)
    {
        int n = (int)Math.Min(buffer.Length, Math.Max(0, capacity - _pos));
        inner.Position = start + _pos;
        n = inner.Read(buffer[..n]);
        _pos += n;
        return n;
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin)
    {
        _pos = origin switch { SeekOrigin.Begin => offset, SeekOrigin.Current => _pos + offset, _ => _length + offset };
        return _pos;
    }

    /// <inheritdoc/>
    public override void SetLength(long value)
    {
        if (value > capacity) throw new IOException($"{value} bytes do not fit the {capacity}-byte partition");
        _length = value;
    }

    /// <inheritdoc/>
    public override void Flush() => inner.Flush();
}
