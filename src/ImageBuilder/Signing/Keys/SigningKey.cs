// An ECDSA P-256 private key: generated, or read from password-encrypted PKCS#8 PEM (RFC 5208, RFC 5958).
using System.Security.Cryptography;
using System.Text;

namespace Appliance.ImageBuilder.Signing.Keys;

/// <summary>A private key that signs bundles.</summary>
public sealed class SigningKey : IDisposable
{
    /// <summary>
    /// PBKDF2 iterations for the encrypted private key. 600,000 rounds of HMAC-SHA256 is the OWASP 2023 figure;
    /// it costs about a quarter of a second per unlock, which is paid once per build.
    /// </summary>
    public const int Pbkdf2Iterations = 600_000;

    private readonly ECDsa _key;

    private SigningKey(ECDsa key)
    {
        _key = key;
        Public = VerificationKey.FromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), "generated key");
    }

    /// <summary>The matching public key.</summary>
    public VerificationKey Public { get; }

    /// <summary>The key id of the public key.</summary>
    public string Id => Public.Id;

    /// <summary>Creates a new random P-256 key.</summary>
    public static SigningKey Generate() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>Wraps explicit P-256 key parameters (private scalar and public point), e.g. a published test key.</summary>
    internal static SigningKey FromParameters(ECParameters parameters)
    {
        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportParameters(parameters);
        }
        catch (CryptographicException)
        {
            ecdsa.Dispose();
            throw;
        }
        if (KeyAlgorithm.Describe(ecdsa.ExportSubjectPublicKeyInfo()) != "ECDSA P-256")
        {
            ecdsa.Dispose();
            throw new ArgumentException("expected an ECDSA P-256 key", nameof(parameters));
        }
        return new SigningKey(ecdsa);
    }

    /// <summary>Reads an encrypted PKCS#8 PEM file, decrypting it with <paramref name="password"/>.</summary>
    public static SigningKey ReadPem(string path, string password) => FromPem(PemBlock.ReadFile(path), password, path);

    /// <summary>Parses encrypted PKCS#8 PEM text; <paramref name="source"/> names it in errors.</summary>
    public static SigningKey ParsePem(string pem, string password, string source) =>
        FromPem(PemBlock.Read(pem, source), password, source);

    private static SigningKey FromPem(PemBlock block, string password, string source)
    {
        switch (block.Label)
        {
            case "ENCRYPTED PRIVATE KEY":
                return Decrypt(block.Der, password, source);
            case "PRIVATE KEY":
            case "EC PRIVATE KEY":
                throw new InvalidDataException($"{source}: private key is not encrypted; expected 'ENCRYPTED PRIVATE KEY' (make one with 'appliance key generate')");
            case "RSA PRIVATE KEY":
                throw new InvalidDataException($"{source}: is an RSA private key; expected ECDSA P-256");
            case "PUBLIC KEY":
                throw new InvalidDataException($"{source}: is a public key; signing needs the private key");
            default:
                throw new InvalidDataException($"{source}: PEM block is '{block.Label}'; expected 'ENCRYPTED PRIVATE KEY'");
        }
    }

    private static SigningKey Decrypt(byte[] der, string password, string source)
    {
        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportEncryptedPkcs8PrivateKey(password, der, out _);
        }
        catch (CryptographicException e)
        {
            ecdsa.Dispose();
            // The same password may open it as another algorithm; say so rather than blame the password.
            using var rsa = RSA.Create();
            try
            {
                rsa.ImportEncryptedPkcs8PrivateKey(password, der, out _);
            }
            catch (CryptographicException)
            {
                throw new InvalidDataException($"{source}: cannot decrypt the private key: wrong password, or the file is damaged", e);
            }
            throw new InvalidDataException($"{source}: is an RSA private key; expected ECDSA P-256", e);
        }
        var kind = KeyAlgorithm.Describe(ecdsa.ExportSubjectPublicKeyInfo()) ?? "unrecognised";
        if (kind != "ECDSA P-256")
        {
            ecdsa.Dispose();
            throw new InvalidDataException($"{source}: is an {kind} private key; expected ECDSA P-256");
        }
        return new SigningKey(ecdsa);
    }

    /// <summary>
    /// The private key as PKCS#8 PEM, encrypted with PBKDF2-HMAC-SHA256 (<see cref="Pbkdf2Iterations"/> rounds)
    /// and AES-256-CBC. Ends in a newline.
    /// </summary>
    public string ToEncryptedPem(string password, int iterations = Pbkdf2Iterations)
    {
        var pbe = new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, iterations);
        return _key.ExportEncryptedPkcs8PrivateKeyPem(password.AsSpan(), pbe) + "\n";
    }

    /// <summary>The encrypted private key PEM as bytes.</summary>
    public byte[] ToEncryptedPemBytes(string password, int iterations = Pbkdf2Iterations) =>
        Encoding.ASCII.GetBytes(ToEncryptedPem(password, iterations));

    /// <summary>
    /// A DER (RFC 3279) ECDSA signature over SHA-256 of <paramref name="data"/>. Deterministic (RFC 6979):
    /// the same key and data always give the same bytes.
    /// </summary>
    public byte[] SignData(ReadOnlySpan<byte> data) => SignHash(SHA256.HashData(data));

    /// <summary>A DER (RFC 3279) deterministic (RFC 6979) ECDSA signature over a SHA-256 digest.</summary>
    public byte[] SignHash(ReadOnlySpan<byte> sha256)
    {
        var parameters = _key.ExportParameters(includePrivateParameters: true);
        try
        {
            return DeterministicEcdsa.SignHash(parameters.D, sha256);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(parameters.D);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _key.Dispose();
        Public.Dispose();
    }
}
