// The base of our read-only pass-through streams: everything a reader never needs is refused in one place.
namespace Appliance.ImageBuilder.IO;

/// <summary>
/// A forward-only, read-only <see cref="Stream"/>. Subclasses implement <see cref="Read(Span{byte})"/> and,
/// where they can, <see cref="Length"/>, <see cref="Position"/>'s getter, <see cref="CanSeek"/> and <see cref="Seek"/>.
/// </summary>
internal abstract class ReadOnlyStream : Stream
{
    public sealed override bool CanRead => true;
    public override bool CanSeek => false;
    public sealed override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public abstract override int Read(Span<byte> buffer);
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public sealed override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public sealed override void SetLength(long value) => throw new NotSupportedException();
    public sealed override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
