// Issues the ECDSA P-256 certificates of the cluster: CAs, the serving certificate and client certificates.
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Appliance.Common.Pki;

/// <summary>Creates certificates. The clock is passed in so tests can pin it.</summary>
public static class CertificateFactory
{
    /// <summary>Validity of the CAs: ten years (see README, "Rotation").</summary>
    public static readonly TimeSpan CaValidity = TimeSpan.FromDays(3650);

    /// <summary>Validity of leaf certificates; never past the issuing CA's own expiry.</summary>
    public static readonly TimeSpan LeafValidity = TimeSpan.FromDays(3650);

    /// <summary>Creates a self-signed CA.</summary>
    public static PemPair CreateCa(string commonName, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={commonName}"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var cert = request.CreateSelfSigned(now.AddMinutes(-5), now.Add(CaValidity));
        return new PemPair(cert.ExportCertificatePem() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n");
    }

    /// <summary>
    /// A new service-account signing key: RSA 2048, PKCS#1 PEM (RS256 is what every Kubernetes client expects of a
    /// cluster's tokens). Kept for the cluster's life: every token it signed dies with it.
    /// </summary>
    public static string CreateServiceAccountKey()
    {
        using var rsa = RSA.Create(2048);
        return rsa.ExportRSAPrivateKeyPem() + "\n";
    }

    /// <summary>Issues the serving certificate for the given DNS names and IP addresses.</summary>
    public static PemPair CreateServing(PemPair ca, string commonName, IEnumerable<string> dnsNames, IEnumerable<IPAddress> addresses, DateTimeOffset now)
    {
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames) san.AddDnsName(name);
        foreach (var ip in addresses) san.AddIpAddress(ip);
        return Issue(ca, $"CN={commonName}", now, serverAuth: true, san.Build());
    }

    /// <summary>Issues a client certificate; Kubernetes reads the user from CN and the groups from O.</summary>
    public static PemPair CreateClient(PemPair ca, string user, IEnumerable<string> groups, DateTimeOffset now)
    {
        var subject = string.Join(", ", groups.Select(g => $"O={g}").Prepend($"CN={user}"));
        return Issue(ca, subject, now, serverAuth: false, san: null);
    }

    static PemPair Issue(PemPair ca, string subject, DateTimeOffset now, bool serverAuth, X509Extension? san)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var certificate = Sign(ca, subject, new CertificateRequest(new X500DistinguishedName(subject), key, HashAlgorithmName.SHA256).PublicKey, now, LeafValidity, serverAuth, san);
        return new PemPair(certificate, key.ExportPkcs8PrivateKeyPem() + "\n");
    }

    /// <summary>
    /// Whether <paramref name="leafPem"/> was signed by the key of <paramref name="caPem"/> and is valid at
    /// <paramref name="at"/> (now when null): a chain built on that CA alone. Malformed PEM is false.
    /// </summary>
    public static bool IsSignedBy(string leafPem, string caPem, DateTimeOffset? at = null)
    {
        try
        {
            using var cert = X509Certificate2.CreateFromPem(leafPem);
            using var caCert = X509Certificate2.CreateFromPem(caPem);
            if (!cert.IssuerName.RawData.AsSpan().SequenceEqual(caCert.SubjectName.RawData)) return false;
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(caCert);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.VerificationTime = (at ?? DateTimeOffset.UtcNow).UtcDateTime;
            return chain.Build(cert);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>
    /// Signs a certificate for a public key whose private key stays with its owner (a node's signing request):
    /// the subject, usage and names are the issuer's choice, never the requester's. Returns the certificate PEM.
    /// </summary>
    public static string Sign(PemPair ca, string subject, PublicKey publicKey, DateTimeOffset now, TimeSpan validity, bool serverAuth, X509Extension? san)
    {
        using var caCert = ca.ToCertificate();
        var request = new CertificateRequest(new X500DistinguishedName(subject), publicKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        var usage = new OidCollection { new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2") };
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usage, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(caCert, true, false));
        if (san is not null) request.CertificateExtensions.Add(san);
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        var notAfter = now.Add(validity);
        if (notAfter > caCert.NotAfter) notAfter = caCert.NotAfter;
        using var cert = request.Create(caCert, now.AddMinutes(-5), notAfter, serial);
        return cert.ExportCertificatePem() + "\n";
    }
}
