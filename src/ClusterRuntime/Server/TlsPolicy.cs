// The TLS versions and cipher suites the API offers: TLS 1.2 and 1.3, AEAD suites with forward secrecy only.
using System.Net.Security;
using System.Security.Authentication;

namespace Appliance.ClusterRuntime.Server;

/// <summary>
/// TLS settings of the listener. The suites are Go's TLS 1.2 defaults (what kube-apiserver offers) without the
/// CBC ones, plus the three TLS 1.3 suites: ECDHE key exchange with AES-GCM or ChaCha20-Poly1305.
/// </summary>
public static class TlsPolicy
{
    /// <summary>TLS 1.2 and 1.3.</summary>
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>The suites offered, strongest first.</summary>
    public static readonly TlsCipherSuite[] Suites =
    [
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];

    static readonly CipherSuitesPolicy? Policy = OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? new CipherSuitesPolicy(Suites) : null;

    /// <summary>Restricts one handshake to <see cref="Suites"/> where the platform lets us choose (Linux, macOS).</summary>
    public static void Apply(SslServerAuthenticationOptions ssl)
    {
        ssl.EnabledSslProtocols = Protocols;
        if (Policy is not null) ssl.CipherSuitesPolicy = Policy;
    }
}
