// Counts and SHA-256-hashes what is read through it: checks a blob against its digest, or measures an unpacked layer.
using System.Security.Cryptography;

namespace Appliance.ImageBuilder.Oci;

/// <summary>
/// A read-through stream that counts the bytes read, hashes them (unless asked not to), and can stop at a byte limit
/// (a decompression bomb). <see cref="Finish"/> gives the digest, <see cref="Verify"/> checks it.
/// </summary>
/// <param name="inner">The stream read; not disposed.</param>
/// <param name="hash">Whether to hash; false only counts.</param>
/// <param name="limit">The most bytes that may be read.</param>
/// <param name="overLimit">The exception thrown when more than <paramref name="limit"/> bytes come.</param>
internal sealed class DigestingStream(Stream inner, bool hash = true, long limit = long.MaxValue, Func<Exception>? overLimit = null)
    : ReadOnlyStream
{
    private readonly IncrementalHash? _hash = hash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;

    /// <summary>Bytes read so far.</summary>
    public long Count { get; private set; }

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Count += n;
        if (Count > limit)
            throw overLimit?.Invoke() ?? new InvalidDataException($"more than {limit} bytes");
        _hash?.AppendData(buffer[..n]);
        return n;
    }

    /// <summary>Reads to the end.</summary>
    public void Drain()
    {
        var buf = new byte[1 << 16];
        while (Read(buf) > 0) { }
    }

    /// <summary>The digest of the bytes read, when hashing was asked for.</summary>
    public Digest? Finish() => _hash is null ? null : Digest.FromHash(_hash.GetHashAndReset());

    /// <summary>Throws when the bytes read do not hash to <paramref name="expected"/>; <paramref name="what"/> names the source.</summary>
    public void Verify(Digest expected, string what)
    {
        var actual = Finish() ?? throw new InvalidOperationException("the stream was made without hashing");
        if (actual != expected)
            throw new InvalidDataException($"{what}: blob {expected} is corrupt: its content hashes to {actual} (run 'appliance store verify')");
    }

    /// <summary>Seekable like the inner stream, so a tar writer can take its <see cref="Length"/>; it never seeks.</summary>
    public override bool CanSeek => inner.CanSeek;
    public override long Length => inner.Length;
    public override long Position => Count;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _hash?.Dispose();
        base.Dispose(disposing);
    }
}
