// Loads the cluster PKI from DIR/tls, creating what is missing on first start (layout in README.md).
using Appliance.Common.Pki;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Appliance.Common;

namespace Appliance.ClusterRuntime.Pki;

/// <summary>The server's certificates, keys and tokens, all under the data directory.</summary>
public sealed class ServerPki
{
    /// <summary>The CA that signs the serving certificate (clients trust it).</summary>
    public required PemPair ServerCa { get; init; }
    /// <summary>The CA that signs client certificates (the server trusts it).</summary>
    public required PemPair ClientCa { get; init; }
    /// <summary>The HTTPS serving certificate.</summary>
    public required PemPair Serving { get; init; }
    /// <summary>The admin client certificate (CN=system:admin, O=system:masters).</summary>
    public required PemPair Admin { get; init; }
    /// <summary>The API server's client certificate for kubelets (CN=system:apiserver, O=system:masters; K3s's client-kube-apiserver).</summary>
    public required PemPair KubeletClient { get; init; }
    /// <summary>The node join token, <c>K10&lt;ca hash&gt;::server:&lt;secret&gt;</c>.</summary>
    public required NodeToken Token { get; init; }
    /// <summary>The service-account signing key, PEM (DIR/tls/service.key, K3s's name; RSA or ECDSA P-256).</summary>
    public required string ServiceAccountKeyPem { get; init; }
    /// <summary>The admin bearer token (DIR/admin-token).</summary>
    public required string AdminToken { get; init; }
    /// <summary>True when this start created the CAs.</summary>
    public bool Created { get; init; }
    /// <summary>Secret files found readable or writable by others at start and set back to 0600, with their old modes.</summary>
    public IReadOnlyList<(string Path, UnixFileMode Mode)> Tightened { get; init; } = [];

    /// <summary>The files under the data directory that hold secrets (private keys and tokens).</summary>
    public static IEnumerable<string> SecretFiles(string dataDir)
    {
        foreach (var name in new[] { "server-ca", "client-ca", "serving", "client-admin", "client-kube-apiserver", "service" })
            yield return Path.Combine(dataDir, "tls", name + ".key");
        yield return Path.Combine(dataDir, "token");
        yield return Path.Combine(dataDir, "admin-token");
        yield return Path.Combine(dataDir, "kubeconfig.yaml");
    }

    /// <summary>DNS names and addresses the serving certificate must carry.</summary>
    public static (SortedSet<string> Dns, SortedSet<string> Ips) WantedNames(IEnumerable<string> tlsSans, string? bindAddress)
    {
        var dns = new SortedSet<string>(StringComparer.Ordinal)
        {
            "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
        };
        var ips = new SortedSet<string>(StringComparer.Ordinal) { "127.0.0.1", "::1" };
        var host = Dns.GetHostName();
        if (!string.IsNullOrEmpty(host)) dns.Add(host.ToLowerInvariant());
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            foreach (var ua in nic.GetIPProperties().UnicastAddresses)
            {
                var a = ua.Address;
                if (a.AddressFamily == AddressFamily.InterNetworkV6 && (a.IsIPv6LinkLocal || a.ScopeId != 0)) continue;
                ips.Add(a.ToString());
            }
        }
        if (!string.IsNullOrEmpty(bindAddress) && IPAddress.TryParse(bindAddress, out var bind) && !bind.Equals(IPAddress.Any) && !bind.Equals(IPAddress.IPv6Any))
            ips.Add(bind.ToString());
        foreach (var san in tlsSans)
        {
            if (IPAddress.TryParse(san, out var ip)) ips.Add(ip.ToString());
            else dns.Add(san.ToLowerInvariant());
        }
        return (dns, ips);
    }

    /// <summary>Keys, certificates and tokens are written owner-only (0600).</summary>
    private static readonly AtomicFileOptions Secret = new(Mode: AtomicFileOptions.OwnerOnly);

    /// <summary>
    /// Loads the PKI from <paramref name="dataDir"/>, creating missing parts and re-issuing the serving certificate when
    /// its names changed. A provided identity (CAs, <c>service.key</c>, <c>token</c>, as <c>appliance cluster init</c>
    /// makes them and a site's first boot places them) is used as it is: the token is never replaced.
    /// </summary>
    /// <exception cref="ProvidedPkiException">The provided files do not make one cluster (half a CA pair, a key that is
    /// not its certificate's, a token that pins another CA).</exception>
    public static ServerPki LoadOrCreate(string dataDir, IEnumerable<string> tlsSans, string? bindAddress, DateTimeOffset now)
    {
        var tls = Path.Combine(dataDir, ClusterPkiFiles.TlsDirectory);
        Directory.CreateDirectory(tls);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(tls, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var tightened = new List<(string, UnixFileMode)>();
        foreach (var secret in SecretFiles(dataDir))
            if (KeyFileMode.Tighten(secret) is { } old) tightened.Add((secret, old));
        PemPair LoadOrMake(string name, Func<PemPair> make, Func<PemPair, bool>? stale = null)
        {
            var crt = Path.Combine(tls, ClusterPkiFiles.Certificate(name));
            var key = Path.Combine(tls, ClusterPkiFiles.Key(name));
            if (File.Exists(crt) && File.Exists(key))
            {
                var pair = new PemPair(File.ReadAllText(crt), File.ReadAllText(key));
                if (stale is null || !stale(pair)) return pair;
            }
            var made = make();
            AtomicFile.WriteText(key, made.KeyPem, Secret);
            AtomicFile.WriteText(crt, made.CertificatePem, Secret);
            return made;
        }

        foreach (var ca in new[] { ClusterPkiFiles.ServerCa, ClusterPkiFiles.ClientCa })
        {
            var crt = Path.Combine(tls, ClusterPkiFiles.Certificate(ca));
            var key = Path.Combine(tls, ClusterPkiFiles.Key(ca));
            if (File.Exists(crt) != File.Exists(key))
                throw new ProvidedPkiException($"{(File.Exists(crt) ? key : crt)} is missing but {(File.Exists(crt) ? crt : key)} is there: give both files of the CA, or neither to make a new one");
        }
        var providedToken = ProvidedToken(dataDir, tls);
        bool created = false;
        var serverCa = LoadOrMake(ClusterPkiFiles.ServerCa, () => { created = true; return CertificateFactory.CreateCa(ClusterPki.ServerCaName, now); },
            pair => ProvidedCaIsBroken(tls, ClusterPkiFiles.ServerCa, pair));
        var clientCa = LoadOrMake(ClusterPkiFiles.ClientCa, () => CertificateFactory.CreateCa(ClusterPki.ClientCaName, now),
            pair => ProvidedCaIsBroken(tls, ClusterPkiFiles.ClientCa, pair));
        var (dns, ips) = WantedNames(tlsSans, bindAddress);
        var serving = LoadOrMake("serving", () => CertificateFactory.CreateServing(serverCa, "kube-apiserver", dns, ips.Select(IPAddress.Parse), now),
            pair => !LeafStillGood(pair, serverCa, now) || !SameNames(pair, dns, ips));
        var admin = LoadOrMake(ClusterPkiFiles.Admin, () => ClusterPki.IssueAdmin(clientCa, now), pair => !LeafStillGood(pair, clientCa, now));

        var kubeletClient = LoadOrMake("client-kube-apiserver", () => CertificateFactory.CreateClient(clientCa, "system:apiserver", ["system:masters"], now),
            pair => !LeafStillGood(pair, clientCa, now));

        // A short token keeps its secret and gains the CA hash, written back in full form as K3s does.
        var token = providedToken.Full;
        if (token is null)
        {
            token = providedToken.Short is { } secret
                ? new NodeToken(NodeToken.HashCa(serverCa.CertificatePem), "server", secret)
                : NodeToken.Create(serverCa.CertificatePem);
            AtomicFile.WriteText(Path.Combine(dataDir, ClusterPkiFiles.Token), token + "\n", Secret);
        }

        var adminTokenPath = Path.Combine(dataDir, "admin-token");
        string adminToken;
        if (File.Exists(adminTokenPath) && File.ReadAllText(adminTokenPath).Trim() is { Length: > 0 } t)
            adminToken = t;
        else
        {
            adminToken = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
            AtomicFile.WriteText(adminTokenPath, adminToken + "\n", Secret);
        }

        // Made once and kept: every issued service-account token dies with it. A key placed there beforehand (RSA or
        // ECDSA P-256 PEM, as `cluster init` provides) is used as it is.
        var serviceKeyPath = Path.Combine(tls, ClusterPkiFiles.ServiceKey);
        string serviceKey;
        if (File.Exists(serviceKeyPath)) serviceKey = File.ReadAllText(serviceKeyPath);
        else
        {
            serviceKey = CertificateFactory.CreateServiceAccountKey();
            AtomicFile.WriteText(serviceKeyPath, serviceKey, Secret);
        }

        return new ServerPki
        {
            ServerCa = serverCa, ClientCa = clientCa, Serving = serving, Admin = admin, KubeletClient = kubeletClient, Token = token,
            AdminToken = adminToken, ServiceAccountKeyPem = serviceKey, Created = created, Tightened = tightened,
        };
    }

    /// <summary>
    /// The token in <c>DIR/token</c> when there is one, checked against the server CA before anything is written: a
    /// token is never replaced (agents hold it), so a token for another CA, or one whose CA is missing, is a mistake to
    /// report, not to repair. A short token (a plain secret, as a server site's <c>cluster.token</c> without
    /// <c>cluster.pki</c> gives) is returned as <c>Short</c>: it becomes the secret of the full token. Null when there is
    /// no token yet.
    /// </summary>
    static (NodeToken? Full, string? Short) ProvidedToken(string dataDir, string tls)
    {
        var tokenPath = Path.Combine(dataDir, ClusterPkiFiles.Token);
        if (!File.Exists(tokenPath)) return (null, null);
        var text = File.ReadAllText(tokenPath).Trim();
        if (!NodeToken.TryParse(text, out var token))
        {
            if (text.Length >= 16 && !text.StartsWith("K10", StringComparison.Ordinal) && !text.Contains("::", StringComparison.Ordinal) && !text.Any(char.IsWhiteSpace))
                return (null, text);
            throw new ProvidedPkiException($"{tokenPath} is not a node token (K10<sha256 hex>::server:<secret>, or a plain secret of at least 16 characters); put the cluster's token there, or remove the file to make a new one");
        }
        var crt = Path.Combine(tls, ClusterPkiFiles.Certificate(ClusterPkiFiles.ServerCa));
        if (!File.Exists(crt))
            throw new ProvidedPkiException($"{tokenPath} pins a server CA (sha256 {token.CaHash[..12]}...) that is not in {tls}: put that CA's files there (server-ca.crt, server-ca.key), or remove {tokenPath} to start a new cluster");
        var pem = File.ReadAllText(crt);
        if (!token.Pins(pem))
            throw new ProvidedPkiException($"{tokenPath} pins server CA sha256 {token.CaHash[..12]}..., but {crt} is sha256 {NodeToken.HashCa(pem)[..12]}...: the token and the CA belong to different clusters");
        return (token, null);
    }

    /// <summary>
    /// A key that does not belong to its certificate is refused: making a new CA there would throw away a provided one.
    /// Returns false (the pair is used) otherwise.
    /// </summary>
    static bool ProvidedCaIsBroken(string tls, string name, PemPair pair)
    {
        try
        {
            pair.ToCertificate().Dispose();
            return false;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException) // ArgumentException: a key of another certificate
        {
            throw new ProvidedPkiException($"{Path.Combine(tls, ClusterPkiFiles.Key(name))} is not the key of {Path.Combine(tls, ClusterPkiFiles.Certificate(name))} ({e.Message})");
        }
    }

    static bool LeafStillGood(PemPair leaf, PemPair ca, DateTimeOffset now)
    {
        try
        {
            using var cert = X509Certificate2.CreateFromPem(leaf.CertificatePem);
            if (cert.NotAfter.ToUniversalTime() < now.UtcDateTime.AddDays(30)) return false;
        }
        catch (CryptographicException)
        {
            return false;
        }
        return CertificateFactory.IsSignedBy(leaf.CertificatePem, ca.CertificatePem, now);
    }

    static bool SameNames(PemPair serving, SortedSet<string> dns, SortedSet<string> ips)
    {
        using var cert = X509Certificate2.CreateFromPem(serving.CertificatePem);
        var ext = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        if (ext is null) return false;
        var haveDns = new SortedSet<string>(ext.EnumerateDnsNames(), StringComparer.Ordinal);
        var haveIps = new SortedSet<string>(ext.EnumerateIPAddresses().Select(a => a.ToString()), StringComparer.Ordinal);
        return haveDns.SetEquals(dns) && haveIps.SetEquals(ips);
    }
}
