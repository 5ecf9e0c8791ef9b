// A content digest "sha256:<64 lowercase hex>" (OCI image-spec descriptor.md, "Digests").
using System.Security.Cryptography;

namespace Appliance.ImageBuilder.Oci;

/// <summary>A validated sha256 content digest.</summary>
public readonly record struct Digest
{
    private Digest(string hex) => Hex = hex;

    /// <summary>The 64 lowercase hex digits.</summary>
    public string Hex { get; }

    /// <summary>The algorithm; only sha256 is accepted.</summary>
    public string Algorithm => "sha256";

    /// <inheritdoc />
    public override string ToString() => "sha256:" + Hex;

    /// <summary>Parses "sha256:hex"; throws <see cref="InvalidDataException"/> naming <paramref name="where"/>.</summary>
    public static Digest Parse(string? text, string where)
    {
        if (TryParse(text, out var d))
            return d;
        if (text != null && text.Contains(':') && !text.StartsWith("sha256:", StringComparison.Ordinal))
            throw new InvalidDataException($"{where}: digest '{text}' uses an unsupported algorithm (only sha256 is accepted)");
        throw new InvalidDataException($"{where}: '{text}' is not a valid digest (expected sha256: and 64 lowercase hex digits)");
    }

    /// <summary>Tries to parse "sha256:hex".</summary>
    public static bool TryParse(string? text, out Digest digest)
    {
        digest = default;
        if (text is null || text.Length != 71 || !text.StartsWith("sha256:", StringComparison.Ordinal))
            return false;
        var hex = text.AsSpan(7);
        foreach (var c in hex)
            if (!(c is >= '0' and <= '9' or >= 'a' and <= 'f'))
                return false;
        digest = new Digest(hex.ToString());
        return true;
    }

    /// <summary>Parses a bare hex string (a blob file name).</summary>
    public static bool TryParseHex(string hex, out Digest digest) => TryParse("sha256:" + hex, out digest);

    /// <summary>The digest of some bytes.</summary>
    public static Digest Of(ReadOnlySpan<byte> data) => FromHash(SHA256.HashData(data));

    /// <summary>Wraps a 32-byte sha256 value.</summary>
    public static Digest FromHash(ReadOnlySpan<byte> hash) => new(Convert.ToHexStringLower(hash));
}
