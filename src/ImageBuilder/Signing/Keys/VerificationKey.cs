// An ECDSA P-256 public key read from SPKI PEM, with its key id; verifies DER-encoded signatures.
using System.Security.Cryptography;
using System.Text;

namespace Appliance.ImageBuilder.Signing.Keys;

/// <summary>A public key that verifies bundle signatures.</summary>
public sealed class VerificationKey : IDisposable
{
    private readonly ECDsa _key;

    private VerificationKey(ECDsa key, byte[] spki)
    {
        _key = key;
        SubjectPublicKeyInfo = spki;
        Id = KeyId.FromSubjectPublicKeyInfo(spki);
    }

    /// <summary>The DER SubjectPublicKeyInfo.</summary>
    public byte[] SubjectPublicKeyInfo { get; }

    /// <summary>The key id: base64(SHA-256(DER SPKI)).</summary>
    public string Id { get; }

    /// <summary>Wraps a DER SubjectPublicKeyInfo, which must hold an ECDSA P-256 key.</summary>
    public static VerificationKey FromSubjectPublicKeyInfo(byte[] spki, string source)
    {
        var kind = KeyAlgorithm.Describe(spki)
            ?? throw new InvalidDataException($"{source}: public key is damaged (not a DER SubjectPublicKeyInfo)");
        if (kind != "ECDSA P-256")
            throw new InvalidDataException($"{source}: is an {kind} public key; expected ECDSA P-256");
        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportSubjectPublicKeyInfo(spki, out _);
        }
        catch (CryptographicException e)
        {
            ecdsa.Dispose();
            throw new InvalidDataException($"{source}: ECDSA P-256 public key is damaged ({e.Message})", e);
        }
        return new VerificationKey(ecdsa, spki);
    }

    /// <summary>Reads an SPKI PEM ("PUBLIC KEY") file.</summary>
    public static VerificationKey ReadPem(string path) => FromPem(PemBlock.ReadFile(path), path);

    /// <summary>Parses SPKI PEM text; <paramref name="source"/> names it in errors.</summary>
    public static VerificationKey ParsePem(string pem, string source) => FromPem(PemBlock.Read(pem, source), source);

    private static VerificationKey FromPem(PemBlock block, string source) => block.Label switch
    {
        "PUBLIC KEY" => FromSubjectPublicKeyInfo(block.Der, source),
        "ENCRYPTED PRIVATE KEY" or "PRIVATE KEY" or "EC PRIVATE KEY" =>
            throw new InvalidDataException($"{source}: is a private key; verification needs the public key (PEM 'PUBLIC KEY')"),
        "RSA PUBLIC KEY" => throw new InvalidDataException($"{source}: is an RSA public key; expected ECDSA P-256"),
        _ => throw new InvalidDataException($"{source}: PEM block is '{block.Label}'; expected 'PUBLIC KEY'"),
    };

    /// <summary>The key as SPKI PEM text, ending in a newline.</summary>
    public string ToPem() => new string(PemEncoding.Write("PUBLIC KEY", SubjectPublicKeyInfo)) + "\n";

    /// <summary>The key as SPKI PEM bytes.</summary>
    public byte[] ToPemBytes() => Encoding.ASCII.GetBytes(ToPem());

    /// <summary>Checks a DER (RFC 3279) ECDSA signature over SHA-256 of <paramref name="data"/>.</summary>
    public bool VerifyData(ReadOnlySpan<byte> data, ReadOnlySpan<byte> derSignature) =>
        _key.VerifyData(data, derSignature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

    /// <summary>Checks a DER (RFC 3279) ECDSA signature over a SHA-256 digest.</summary>
    public bool VerifyHash(ReadOnlySpan<byte> sha256, ReadOnlySpan<byte> derSignature) =>
        _key.VerifyHash(sha256, derSignature, DSASignatureFormat.Rfc3279DerSequence);

    /// <inheritdoc/>
    public void Dispose() => _key.Dispose();
}
