// Counts (and optionally hashes) decompressed bytes, and stops a decompression bomb at the configured limit.
using System.Security.Cryptography;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.IO;

namespace Appliance.ImageBuilder.Store.Import;

/// <summary>Marks the exception thrown when a layer unpacks to more bytes than allowed.</summary>
internal static class LayerLimit
{
    private const string Key = "appliance.layer-limit";

    /// <summary>An exception that says the limit was passed.</summary>
    public static InvalidDataException Exceeded(string message)
    {
        var e = new InvalidDataException(message);
        e.Data[Key] = true;
        return e;
    }

    /// <summary>True for an exception made by <see cref="Exceeded"/>.</summary>
    public static bool Is(Exception e) => e.Data.Contains(Key);
}

/// <summary>A read-through stream that counts bytes, hashes them when asked, and enforces a byte limit.</summary>
internal sealed class CountingStream(Stream inner, long limit, bool hash, Func<string> describe) : ReadOnlyStream
{
    private readonly IncrementalHash? _hash = hash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;

    /// <summary>Bytes read so far.</summary>
    public long Count { get; private set; }

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Count += n;
        if (Count > limit)
            throw LayerLimit.Exceeded($"{describe()}: unpacks to more than {limit} bytes (the layer size limit; a decompression bomb?)");
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

    public override long Position => Count;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _hash?.Dispose();
        base.Dispose(disposing);
    }
}
