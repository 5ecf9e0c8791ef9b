// The key id ("hint") of a public key: base64(SHA-256(DER SubjectPublicKeyInfo)), as cosign computes it.
using System.Security.Cryptography;

namespace Appliance.ImageBuilder.Signing.Keys;

/// <summary>Computes key ids.</summary>
public static class KeyId
{
    /// <summary>The key id of a DER-encoded SubjectPublicKeyInfo: standard base64 of its SHA-256.</summary>
    public static string FromSubjectPublicKeyInfo(ReadOnlySpan<byte> spkiDer) =>
        Convert.ToBase64String(SHA256.HashData(spkiDer));
}
