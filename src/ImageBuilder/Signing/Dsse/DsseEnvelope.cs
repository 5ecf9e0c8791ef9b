// A DSSE envelope (DSSE envelope.md): payload, payloadType and signatures, signed over the PAE.
using Appliance.ImageBuilder.Signing.Keys;

namespace Appliance.ImageBuilder.Signing.Dsse;

/// <summary>One DSSE signature: the key id (may be empty) and the DER ECDSA signature.</summary>
public sealed record DsseSignature(string KeyId, byte[] Sig);

/// <summary>A DSSE envelope.</summary>
public sealed record DsseEnvelope(string PayloadType, byte[] Payload, IReadOnlyList<DsseSignature> Signatures)
{
    /// <summary>The in-toto payload type.</summary>
    public const string InTotoPayloadType = "application/vnd.in-toto+json";

    /// <summary>Signs <paramref name="payload"/> as <paramref name="payloadType"/> with one key.</summary>
    public static DsseEnvelope Sign(string payloadType, byte[] payload, SigningKey key) =>
        new(payloadType, payload, [new DsseSignature(key.Id, key.SignData(Pae.Encode(payloadType, payload)))]);

    /// <summary>The bytes every signature covers.</summary>
    public byte[] PreAuthEncoding() => Pae.Encode(PayloadType, Payload);
}
