// Name-based GUIDs (RFC 9562 version 8 from SHA-256), so disk and partition GUIDs follow from the build inputs.
using System.Security.Cryptography;
using System.Text;

namespace Appliance.Common;

/// <summary>Deterministic GUIDs derived from a seed and a purpose string.</summary>
public static class DerivedGuid
{
    /// <summary>
    /// The first 16 bytes of SHA-256(seed || 0 || purpose), with the RFC 9562 version-8 and variant bits set.
    /// </summary>
    public static Guid Create(ReadOnlySpan<byte> seed, string purpose)
    {
        var p = Encoding.UTF8.GetBytes(purpose);
        var input = new byte[seed.Length + 1 + p.Length];
        seed.CopyTo(input);
        p.CopyTo(input.AsSpan(seed.Length + 1));
        Span<byte> h = stackalloc byte[32];
        SHA256.HashData(input, h);
        h[6] = (byte)((h[6] & 0x0F) | 0x80);
        h[8] = (byte)((h[8] & 0x3F) | 0x80);
        return new Guid(h[..16], bigEndian: true);
    }

    /// <summary>A 32-bit value derived the same way (for FAT volume serials and MBR disk signatures).</summary>
    public static uint CreateUInt32(ReadOnlySpan<byte> seed, string purpose)
    {
        var g = Create(seed, purpose).ToByteArray();
        uint v = BitConverter.ToUInt32(g, 0);
        return v == 0 ? 1u : v;
    }
}
