// Reads a source in large chunks, hashing each chunk and copying it to a file, while a consumer reads the same bytes.
using System.Security.Cryptography;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.IO;

namespace Appliance.ImageBuilder.Store.Import;

/// <summary>
/// One pass over a blob does three things: sha256, a copy into the store's ingest area, and whatever
/// the consumer (the layer scanner) reads. Chunks are 1 MiB, so the per-byte cost stays near that of sha256.
/// </summary>
internal sealed class TeeHashStream : ReadOnlyStream
{
    private const int ChunkSize = 1 << 20;
    private readonly Stream _source;
    private readonly Stream? _sink;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _buf = new byte[ChunkSize];
    private int _start, _end;
    private bool _eof;

    public TeeHashStream(Stream source, Stream? sink)
    {
        _source = source;
        _sink = sink;
    }

    /// <summary>Bytes read from the source so far.</summary>
    public long Total { get; private set; }

    private int Fill()
    {
        if (_eof)
            return 0;
        var n = _source.Read(_buf, 0, _buf.Length);
        if (n == 0)
        {
            _eof = true;
            return 0;
        }
        _hash.AppendData(_buf, 0, n);
        _sink?.Write(_buf, 0, n);
        Total += n;
        _start = 0;
        _end = n;
        return n;
    }

    /// <summary>The first bytes of the stream, without consuming them (only valid before the first read).</summary>
    public ReadOnlySpan<byte> Peek()
    {
        if (_start == _end)
            Fill();
        return _buf.AsSpan(_start, _end - _start);
    }

    public override int Read(Span<byte> buffer)
    {
        if (_start == _end && Fill() == 0)
            return 0;
        var n = Math.Min(buffer.Length, _end - _start);
        _buf.AsSpan(_start, n).CopyTo(buffer);
        _start += n;
        return n;
    }

    /// <summary>Reads (and hashes and copies) whatever the consumer left unread.</summary>
    public void Drain()
    {
        _start = _end;
        while (Fill() > 0)
            _start = _end;
    }

    /// <summary>The digest of everything read; call after <see cref="Drain"/>.</summary>
    public Digest Finish() => Digest.FromHash(_hash.GetHashAndReset());

    public override long Position => Total - (_end - _start);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _hash.Dispose();
        base.Dispose(disposing);
    }
}
