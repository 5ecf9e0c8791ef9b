// Compact JWS (RFC 7515) signed with RS256 or ES256/384/512 (RFC 7518 §3.3, §3.4), the form of service-account tokens.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Auth;

/// <summary>
/// Signs and verifies JWTs with one private key (RSA, or ECDSA on P-256/P-384/P-521). The key ID (<c>kid</c>) is
/// computed as kube-apiserver does: base64url of the SHA-256 of the public key's DER SubjectPublicKeyInfo, so the
/// same key gives the same <c>kid</c> on every server.
/// </summary>
public sealed class JwtSigner : IDisposable
{
    readonly AsymmetricAlgorithm _key;
    readonly HashAlgorithmName _hash;

    JwtSigner(AsymmetricAlgorithm key)
    {
        _key = key;
        (Algorithm, _hash) = key switch
        {
            RSA => ("RS256", HashAlgorithmName.SHA256),
            ECDsa { KeySize: 256 } => ("ES256", HashAlgorithmName.SHA256),
            ECDsa { KeySize: 384 } => ("ES384", HashAlgorithmName.SHA384),
            ECDsa { KeySize: 521 } => ("ES512", HashAlgorithmName.SHA512),
            _ => throw new CryptographicException($"the service-account key is a {key.KeySize}-bit {key.GetType().Name}; expected RSA or ECDSA P-256, P-384 or P-521"),
        };
        KeyId = Base64Url(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));
    }

    /// <summary>The JWS <c>alg</c>: RS256, ES256, ES384 or ES512.</summary>
    public string Algorithm { get; }

    /// <summary>The JWS <c>kid</c> of the key.</summary>
    public string KeyId { get; }

    /// <summary>Reads a PEM private key: PKCS#1 RSA, SEC 1 EC, or PKCS#8 holding either.</summary>
    /// <exception cref="CryptographicException">The PEM holds no usable private key.</exception>
    public static JwtSigner FromPem(string pem)
    {
        var label = PemEncoding.TryFind(pem, out var fields) ? pem[fields.Label] : "";
        if (label is "RSA PRIVATE KEY") return FromRsa(pem);
        if (label is "EC PRIVATE KEY") return FromEc(pem);
        if (label is not "PRIVATE KEY") throw new CryptographicException($"the service-account key file holds \"{label}\"; expected a PEM private key (RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY)");
        try { return FromRsa(pem); }
        catch (CryptographicException) { return FromEc(pem); }

        static JwtSigner FromRsa(string pem)
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            return new JwtSigner(rsa);
        }
        static JwtSigner FromEc(string pem)
        {
            var ec = ECDsa.Create();
            ec.ImportFromPem(pem);
            return new JwtSigner(ec);
        }
    }

    /// <summary>The signed token of <paramref name="claims"/>.</summary>
    public string Sign(JsonObject claims)
    {
        var header = new JsonObject { ["alg"] = Algorithm, ["kid"] = KeyId };
        var input = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        var data = Encoding.ASCII.GetBytes(input);
        var signature = _key is RSA rsa ? rsa.SignData(data, _hash, RSASignaturePadding.Pkcs1) : ((ECDsa)_key).SignData(data, _hash);
        return input + "." + Base64Url(signature);
    }

    /// <summary>
    /// The claims of <paramref name="token"/> when it is a JWS of this key (its <c>alg</c> and a valid signature);
    /// null for anything else (another issuer's token, a damaged one, an opaque bearer token).
    /// </summary>
    public JsonObject? Verify(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3) return null;
        try
        {
            if (JsonNode.Parse(FromBase64Url(parts[0])) is not JsonObject header || header["alg"]?.GetValue<string>() != Algorithm) return null;
            var data = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
            var signature = FromBase64Url(parts[2]);
            var good = _key is RSA rsa ? rsa.VerifyData(data, signature, _hash, RSASignaturePadding.Pkcs1) : ((ECDsa)_key).VerifyData(data, signature, _hash);
            return good ? JsonNode.Parse(FromBase64Url(parts[1])) as JsonObject : null;
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException or InvalidOperationException or CryptographicException)
        {
            return null;
        }
    }

    /// <summary>The public key as a JWK (RFC 7517), as <c>/openid/v1/jwks</c> lists it.</summary>
    public JsonObject PublicJwk()
    {
        var jwk = new JsonObject { ["use"] = "sig" };
        if (_key is RSA rsa)
        {
            var p = rsa.ExportParameters(false);
            jwk["kty"] = "RSA";
            jwk["kid"] = KeyId;
            jwk["alg"] = Algorithm;
            jwk["n"] = Base64Url(p.Modulus!);
            jwk["e"] = Base64Url(p.Exponent!);
        }
        else
        {
            var p = ((ECDsa)_key).ExportParameters(false);
            jwk["kty"] = "EC";
            jwk["kid"] = KeyId;
            jwk["crv"] = "P-" + (_key.KeySize == 521 ? "521" : _key.KeySize.ToString(System.Globalization.CultureInfo.InvariantCulture));
            jwk["alg"] = Algorithm;
            jwk["x"] = Base64Url(p.Q.X!);
            jwk["y"] = Base64Url(p.Q.Y!);
        }
        return jwk;
    }

    /// <summary>Base64url without padding (RFC 7515 §2).</summary>
    public static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Decodes base64url with or without padding.</summary>
    /// <exception cref="FormatException">Not base64url.</exception>
    public static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s + new string('=', (4 - s.Length % 4) % 4));
    }

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();
}
