// A write-only pass-through that shows every write, with its offset, to an observer before it reaches the stream below.
namespace Appliance.ImageBuilder.Disk.Common;

/// <summary>
/// Forwards writes and seeks to <paramref name="inner"/> and calls <paramref name="observe"/> with the offset and the
/// bytes of each write first. The disk composer uses it to hash what it writes (image digests, identifier seeds)
/// without reading the file back.
/// </summary>
public sealed class WriteTapStream(Stream inner, WriteTapStream.Observer observe) : Stream
{
    /// <summary>Receives each write: where it lands in <c>inner</c> and its bytes (valid only during the call).</summary>
    public delegate void Observer(long offset, ReadOnlySpan<byte> bytes);

    /// <inheritdoc />
    public override bool CanRead => false;
    /// <inheritdoc />
    public override bool CanSeek => true;
    /// <inheritdoc />
    public override bool CanWrite => true;
    /// <inheritdoc />
    public override long Length => inner.Length;
    /// <inheritdoc />
    public override long Position { get => inner.Position; set => inner.Position = value; }
    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        observe(inner.Position, buffer);
        inner.Write(buffer);
    }
    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
    /// <inheritdoc />
    public override void SetLength(long value) => inner.SetLength(value);
    /// <inheritdoc />
    public override void Flush() => inner.Flush();
    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
