// Hashes what passes through, so a blob copied out of the store is known to be the blob its digest names.
using System.Security.Cryptography;
using Appliance.ImageBuilder.IO;

namespace Appliance.ImageBuilder.Oci.Archive;

/// <summary>A read-through stream that checks the sha256 of everything read once the end is reached.</summary>
internal sealed class DigestCheckingStream(FileStream inner, Digest expected) : ReadOnlyStream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        _hash.AppendData(buffer[..n]);
        return n;
    }

    /// <summary>Throws when the bytes read do not hash to the expected digest.</summary>
    public void Verify()
    {
        var actual = Digest.FromHash(_hash.GetHashAndReset());
        if (actual != expected)
            throw new InvalidDataException($"{inner.Name}: blob {expected} is corrupt: its content hashes to {actual} (run 'appliance store verify')");
    }

    public override bool CanSeek => true;
    public override long Length => inner.Length;
    public override long Position => inner.Position;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _hash.Dispose();
        base.Dispose(disposing);
    }
}
