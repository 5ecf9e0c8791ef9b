// A cluster's long-lived secrets (CAs, service-account key, node token) and the names their files have in a data directory.
namespace Appliance.Common.Pki;

/// <summary>
/// What makes a cluster's identity and outlives every restart: the server CA (clients trust it), the client CA (the
/// server trusts the certificates it signs), the service-account signing key, and the node token that pins the
/// server CA. <c>appliance cluster init</c> makes one at build time; <c>appliance-runtime server</c> makes one at its
/// first start when none was provided (both through <see cref="Create"/>).
/// </summary>
/// <param name="ServerCa">The CA that signs the serving certificate.</param>
/// <param name="ClientCa">The CA that signs client certificates (admin, nodes, the API server's kubelet client).</param>
/// <param name="ServiceAccountKeyPem">The service-account signing key, PEM.</param>
/// <param name="Token">The node join token, <c>K10&lt;hash of ServerCa's certificate PEM&gt;::server:&lt;secret&gt;</c>.</param>
public sealed record ClusterPki(PemPair ServerCa, PemPair ClientCa, string ServiceAccountKeyPem, NodeToken Token)
{
    /// <summary>Common name of the server CA.</summary>
    public const string ServerCaName = "appliance-runtime-server-ca";

    /// <summary>Common name of the client CA.</summary>
    public const string ClientCaName = "appliance-runtime-client-ca";

    /// <summary>Makes a new cluster identity: two CAs, a service-account key and a token pinning the server CA.</summary>
    public static ClusterPki Create(DateTimeOffset now)
    {
        var serverCa = CertificateFactory.CreateCa(ServerCaName, now);
        return new ClusterPki(serverCa, CertificateFactory.CreateCa(ClientCaName, now), CertificateFactory.CreateServiceAccountKey(),
            NodeToken.Create(serverCa.CertificatePem));
    }

    /// <summary>Issues the admin client certificate (CN=system:admin, O=system:masters) from <paramref name="clientCa"/>.</summary>
    public static PemPair IssueAdmin(PemPair clientCa, DateTimeOffset now) =>
        CertificateFactory.CreateClient(clientCa, "system:admin", ["system:masters"], now);

    /// <summary>
    /// The files of a server's <c>tls/</c> directory that carry this identity, by name
    /// (<see cref="ClusterPkiFiles.ProvidedTls"/> order): what a server site's image carries and its first boot puts there.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> TlsFiles =>
    [
        new(ClusterPkiFiles.Certificate(ClusterPkiFiles.ServerCa), ServerCa.CertificatePem),
        new(ClusterPkiFiles.Key(ClusterPkiFiles.ServerCa), ServerCa.KeyPem),
        new(ClusterPkiFiles.Certificate(ClusterPkiFiles.ClientCa), ClientCa.CertificatePem),
        new(ClusterPkiFiles.Key(ClusterPkiFiles.ClientCa), ClientCa.KeyPem),
        new(ClusterPkiFiles.ServiceKey, ServiceAccountKeyPem),
    ];
}

/// <summary>The names of the PKI files in a server's data directory (and in a <c>cluster init</c> directory, which uses the same).</summary>
public static class ClusterPkiFiles
{
    /// <summary>The directory of certificates and keys, under the data directory.</summary>
    public const string TlsDirectory = "tls";

    /// <summary>The node token file, in the data directory.</summary>
    public const string Token = "token";

    /// <summary>The server CA pair's base name (<c>tls/server-ca.crt</c>, <c>tls/server-ca.key</c>).</summary>
    public const string ServerCa = "server-ca";

    /// <summary>The client CA pair's base name.</summary>
    public const string ClientCa = "client-ca";

    /// <summary>The admin client certificate pair's base name.</summary>
    public const string Admin = "client-admin";

    /// <summary>The service-account signing key (K3s's name).</summary>
    public const string ServiceKey = "service.key";

    /// <summary>The certificate file of a pair.</summary>
    public static string Certificate(string pair) => pair + ".crt";

    /// <summary>The private key file of a pair.</summary>
    public static string Key(string pair) => pair + ".key";

    /// <summary>The <c>tls/</c> files a server may be given instead of making them: the cluster's identity.</summary>
    public static IReadOnlyList<string> ProvidedTls { get; } =
        [Certificate(ServerCa), Key(ServerCa), Certificate(ClientCa), Key(ClientCa), ServiceKey];
}
