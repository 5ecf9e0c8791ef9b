// A write-once output stream that seeks over all-zero 4 KiB blocks instead of writing them, so images stay sparse.
namespace Appliance.ImageBuilder.Disk.Common;

/// <summary>
/// Wraps a freshly created (all-zero) seekable stream. Writes whose aligned 4 KiB blocks are entirely zero
/// become seeks, so unused space is never written and the host file stays sparse.
/// Each byte may be written at most once: writing zeros over earlier data would leave the old data in place.
/// </summary>
public sealed class SparseWriteStream : Stream
{
    private const int Block = 4096;
    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private long _pos, _length, _innerPos;

    /// <summary>Wraps <paramref name="inner"/>, which must be seekable and contain only zeros where it is written.</summary>
    public SparseWriteStream(Stream inner, bool leaveOpen = false)
    {
        if (!inner.CanSeek || !inner.CanWrite) throw new ArgumentException("the output must be seekable and writable", nameof(inner));
        _inner = inner;
        _leaveOpen = leaveOpen;
        _length = inner.Length;
        _innerPos = inner.Position;
        _pos = _innerPos;
    }

    /// <summary>Bytes actually written (not skipped) so far.</summary>
    public long BytesWritten { get; private set; }

    /// <inheritdoc/>
    public override bool CanRead => false;
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
        while (buffer.Length > 0)
        {
            int n = (int)Math.Min(buffer.Length, Block - _pos % Block);
            var piece = buffer[..n];
            int firstNonZero = piece.IndexOfAnyExcept((byte)0);
            if (firstNonZero >= 0)
            {
                // Write the rest of the block run in one call: find the next whole zero block, if any.
                int run = n;
                while (run < buffer.Length)
                {
                    int m = Math.Min(Block, buffer.Length - run);
                    if (m == Block && !buffer.Slice(run, m).ContainsAnyExcept((byte)0)) break;
                    run += m;
                }
                if (_innerPos != _pos) _inner.Seek(_pos, SeekOrigin.Begin);
                _inner.Write(buffer[..run]);
                _pos += run;
                _innerPos = _pos;
                BytesWritten += run;
                n = run;
            }
            else
                _pos += n;
            if (_pos > _length) _length = _pos;
            buffer = buffer[n..];
        }
    }

    /// <summary>Advances the position by <paramref name="count"/> zero bytes without writing them.</summary>
    public void Skip(long count)
    {
        _pos += count;
        if (_pos > _length) _length = _pos;
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin)
    {
        _pos = origin switch { SeekOrigin.Begin => offset, SeekOrigin.Current => _pos + offset, _ => _length + offset };
        return _pos;
    }

    /// <inheritdoc/>
    public override void SetLength(long value) { _length = value; }

    /// <inheritdoc/>
    public override void Flush()
    {
        if (_inner.Length != _length) _inner.SetLength(_length);
        _inner.Flush();
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Flush();
            if (!_leaveOpen) _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
