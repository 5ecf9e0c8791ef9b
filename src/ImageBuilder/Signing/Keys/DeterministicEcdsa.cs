// Deterministic ECDSA on P-256 (RFC 6979 §3.2: HMAC-SHA256 nonce), DER-encoded per RFC 3279 §2.2.3.
using System.Formats.Asn1;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using BigInteger = Org.BouncyCastle.Math.BigInteger;

namespace Appliance.ImageBuilder.Signing.Keys;

/// <summary>
/// Signs a SHA-256 digest with a P-256 private scalar, the nonce k derived from the key and the digest
/// (RFC 6979), so the same key and message always give the same signature. s is left as computed
/// (no low-S normalisation): ECDSA verifiers accept either half, and RFC 6979's vectors are unnormalised.
/// </summary>
internal static class DeterministicEcdsa
{
    /// <summary>The signature (r, s) over <paramref name="sha256"/> as a DER SEQUENCE of two INTEGERs.</summary>
    /// <param name="privateScalar">The private key d, big-endian, as <c>ECParameters.D</c> holds it.</param>
    /// <param name="sha256">The 32-byte SHA-256 digest of the message.</param>
    public static byte[] SignHash(ReadOnlySpan<byte> privateScalar, ReadOnlySpan<byte> sha256)
    {
        if (sha256.Length != 32)
            throw new ArgumentException($"expected a 32-byte SHA-256 digest, got {sha256.Length} bytes", nameof(sha256));
        var d = new BigInteger(1, privateScalar.ToArray());
        var signer = new ECDsaSigner(new HMacDsaKCalculator(new Sha256Digest()));
        signer.Init(true, new ECPrivateKeyParameters("ECDSA", d, SecObjectIdentifiers.SecP256r1));
        var rs = signer.GenerateSignature(sha256.ToArray());
        var der = new AsnWriter(AsnEncodingRules.DER);
        using (der.PushSequence())
        {
            der.WriteIntegerUnsigned(rs[0].ToByteArrayUnsigned());
            der.WriteIntegerUnsigned(rs[1].ToByteArrayUnsigned());
        }
        return der.Encode();
    }
}
