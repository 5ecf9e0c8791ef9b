// Loads the cluster PKI from DIR/tls, creating what is missing on first start (layout in README.md).
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

    /// <summary>Loads the PKI from <paramref name="dataDir"/>, creating missing parts and re-issuing the serving certificate when its names changed.</summary>
    public static ServerPki LoadOrCreate(string dataDir, IEnumerable<string> tlsSans, string? bindAddress, DateTimeOffset now)
    {
        var tls = Path.Combine(dataDir, "tls");
        Directory.CreateDirectory(tls);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(tls, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var tightened = new List<(string, UnixFileMode)>();
        foreach (var secret in SecretFiles(dataDir))
            if (KeyFileMode.Tighten(secret) is { } old) tightened.Add((secret, old));
        bool created = false;
        PemPair LoadOrMake(string name, Func<PemPair> make, Func<PemPair, bool>? stale = null)
        {
            var crt = Path.Combine(tls, name + ".crt");
            var key = Path.Combine(tls, name + ".key");
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

        var serverCa = LoadOrMake("server-ca", () => { created = true; return CertificateFactory.CreateCa("appliance-runtime-server-ca", now); });
        var clientCa = LoadOrMake("client-ca", () => CertificateFactory.CreateCa("appliance-runtime-client-ca", now));
        var (dns, ips) = WantedNames(tlsSans, bindAddress);
        var serving = LoadOrMake("serving", () => CertificateFactory.CreateServing(serverCa, "kube-apiserver", dns, ips.Select(IPAddress.Parse), now),
            pair => !LeafStillGood(pair, serverCa, now) || !SameNames(pair, dns, ips));
        var admin = LoadOrMake("client-admin", () => CertificateFactory.CreateClient(clientCa, "system:admin", ["system:masters"], now),
            pair => !LeafStillGood(pair, clientCa, now));

        var kubeletClient = LoadOrMake("client-kube-apiserver", () => CertificateFactory.CreateClient(clientCa, "system:apiserver", ["system:masters"], now),
            pair => !LeafStillGood(pair, clientCa, now));

        var tokenPath = Path.Combine(dataDir, "token");
        NodeToken token;
        if (File.Exists(tokenPath) && NodeToken.TryParse(File.ReadAllText(tokenPath).Trim(), out var existing) && existing.CaHash == NodeToken.HashCa(serverCa.CertificatePem))
            token = existing;
        else
        {
            token = new NodeToken(NodeToken.HashCa(serverCa.CertificatePem), "server", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
            AtomicFile.WriteText(tokenPath, token + "\n", Secret);
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
        // ECDSA P-256 PEM, as `cluster init` will provide) is used as it is.
        var serviceKeyPath = Path.Combine(tls, "service.key");
        string serviceKey;
        if (File.Exists(serviceKeyPath)) serviceKey = File.ReadAllText(serviceKeyPath);
        else
        {
            using var rsa = RSA.Create(2048);
            serviceKey = rsa.ExportRSAPrivateKeyPem() + "\n";
            AtomicFile.WriteText(serviceKeyPath, serviceKey, Secret);
        }

        return new ServerPki
        {
            ServerCa = serverCa, ClientCa = clientCa, Serving = serving, Admin = admin, KubeletClient = kubeletClient, Token = token,
            AdminToken = adminToken, ServiceAccountKeyPem = serviceKey, Created = created, Tightened = tightened,
        };
    }

    static bool LeafStillGood(PemPair leaf, PemPair ca, DateTimeOffset now)
    {
        try
        {
            using var cert = X509Certificate2.CreateFromPem(leaf.CertificatePem);
            using var caCert = X509Certificate2.CreateFromPem(ca.CertificatePem);
            if (cert.NotAfter.ToUniversalTime() < now.UtcDateTime.AddDays(30)) return false;
            if (cert.IssuerName.RawData.AsSpan().SequenceEqual(caCert.SubjectName.RawData) is false) return false;
            // The leaf must be signed by this CA's key: verify its signature through a chain built only on the CA.
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(caCert);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.VerificationTime = now.UtcDateTime;
            return chain.Build(cert);
        }
        catch (CryptographicException)
        {
            return false;
        }
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
