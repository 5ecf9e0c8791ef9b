// Names the algorithm of a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7, RFC 5480 §2) for clear errors.
using System.Formats.Asn1;

namespace Appliance.ImageBuilder.Signing.Keys;

/// <summary>Object identifiers of the key algorithms we recognise, and a reader for them.</summary>
internal static class KeyAlgorithm
{
    public const string EcPublicKey = "1.2.840.10045.2.1";
    public const string P256 = "1.2.840.10045.3.1.7";
    public const string Rsa = "1.2.840.113549.1.1.1";

    /// <summary>A short human name for the key in <paramref name="spki"/>, e.g. "ECDSA P-256", "RSA"; null when it does not parse.</summary>
    public static string? Describe(ReadOnlySpan<byte> spki)
    {
        try
        {
            var (alg, param) = Read(spki);
            return alg switch
            {
                Rsa => "RSA",
                "1.3.101.112" => "Ed25519",
                EcPublicKey => param switch
                {
                    P256 => "ECDSA P-256",
                    "1.3.132.0.34" => "ECDSA P-384",
                    "1.3.132.0.35" => "ECDSA P-521",
                    _ => $"ECDSA on curve {param ?? "(unnamed)"}",
                },
                _ => $"algorithm {alg}",
            };
        }
        catch (AsnContentException)
        {
            return null;
        }
    }

    /// <summary>The algorithm OID and, when it is an OID, the parameter of an SPKI.</summary>
    public static (string Algorithm, string? Parameter) Read(ReadOnlySpan<byte> spki)
    {
        var reader = new AsnReader(spki.ToArray(), AsnEncodingRules.DER);
        var seq = reader.ReadSequence();
        var algId = seq.ReadSequence();
        var alg = algId.ReadObjectIdentifier();
        string? param = null;
        if (algId.HasData && algId.PeekTag().HasSameClassAndValue(Asn1Tag.ObjectIdentifier))
            param = algId.ReadObjectIdentifier();
        return (alg, param);
    }
}
