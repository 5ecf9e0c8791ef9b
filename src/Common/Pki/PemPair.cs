// A certificate and its private key as PEM text: the unit every PKI file pair is read and written as.
using System.Security.Cryptography.X509Certificates;

namespace Appliance.Common.Pki;

/// <summary>A certificate with its private key, as PEM text.</summary>
/// <param name="CertificatePem">The certificate.</param>
/// <param name="KeyPem">The PKCS#8 private key.</param>
public sealed record PemPair(string CertificatePem, string KeyPem)
{
    /// <summary>Loads the pair as an <see cref="X509Certificate2"/> with its private key.</summary>
    public X509Certificate2 ToCertificate() => X509Certificate2.CreateFromPem(CertificatePem, KeyPem);
}
