// HTTP handlers that trust only the pinned cluster CA and present the node's current client certificate.
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Appliance.ClusterRuntime.Agent.Client;

/// <summary>Builds the agent's HTTPS handlers.</summary>
public static class ClusterHttp
{
    /// <summary>
    /// A handler verifying servers against <paramref name="caPem"/> only (chain and name), presenting whatever
    /// <paramref name="clientCertificate"/> returns when a connection opens, so a renewed certificate is used by new
    /// connections without rebuilding the client.
    /// </summary>
    public static SocketsHttpHandler Create(string caPem, Func<X509Certificate2?>? clientCertificate = null)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPem(caPem);
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            KeepAlivePingDelay = TimeSpan.FromSeconds(15),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
        {
            if (cert is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None) return false;
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(cert as X509Certificate2 ?? new X509Certificate2(cert));
        };
        if (clientCertificate is not null)
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate()!;
        return handler;
    }
}
