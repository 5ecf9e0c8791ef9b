// What a joined node keeps in its data directory: node password, pinned server CA, client and serving certificates.
using Appliance.Common.Pki;
using System.Security.Cryptography;
using Appliance.ClusterRuntime.Pki;
using Appliance.Common;

namespace Appliance.ClusterRuntime.Agent.Join;

/// <summary>
/// The agent's files under DIR (layout in Agent/README.md), all written 0600 with <see cref="AtomicFile"/>. The node
/// password is made once and never replaced: it is what lets this machine rejoin under its name after its certificates
/// are lost or expired.
/// </summary>
public sealed class NodeCredentials(string dataDir)
{
    static readonly AtomicFileOptions Secret = new(Mode: AtomicFileOptions.OwnerOnly);

    /// <summary>DIR/node-password.</summary>
    public string PasswordPath => Path.Combine(dataDir, "node-password");
    /// <summary>DIR/tls.</summary>
    public string TlsDir => Path.Combine(dataDir, "tls");
    /// <summary>The server CA pinned at join (DIR/tls/server-ca.crt).</summary>
    public string ServerCaPath => Path.Combine(TlsDir, "server-ca.crt");
    /// <summary>DIR/servers: the API servers learned from the kubernetes Endpoints, one URL a line.</summary>
    public string ServersPath => Path.Combine(dataDir, "servers");

    /// <summary>The node password, made (random 256 bits, hex) and stored on first use.</summary>
    public string LoadOrCreatePassword()
    {
        if (File.Exists(PasswordPath) && File.ReadAllText(PasswordPath).Trim() is { Length: >= 16 } existing) return existing;
        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        Directory.CreateDirectory(dataDir);
        AtomicFile.WriteText(PasswordPath, password + "\n", Secret);
        return password;
    }

    /// <summary>The pinned server CA PEM, or null before the first join.</summary>
    public string? LoadServerCa() => File.Exists(ServerCaPath) ? File.ReadAllText(ServerCaPath) : null;

    /// <summary>Stores the server CA (after its hash matched the token).</summary>
    public void SaveServerCa(string pem) => Write(ServerCaPath, pem);

    /// <summary>A stored certificate pair (<c>client-kubelet</c> or <c>serving-kubelet</c>), or null.</summary>
    public PemPair? Load(string name)
    {
        var crt = Path.Combine(TlsDir, name + ".crt");
        var key = Path.Combine(TlsDir, name + ".key");
        return File.Exists(crt) && File.Exists(key) ? new PemPair(File.ReadAllText(crt), File.ReadAllText(key)) : null;
    }

    /// <summary>Stores a certificate pair, key first.</summary>
    public void Save(string name, PemPair pair)
    {
        Write(Path.Combine(TlsDir, name + ".key"), pair.KeyPem);
        Write(Path.Combine(TlsDir, name + ".crt"), pair.CertificatePem);
    }

    /// <summary>The servers remembered from the last run.</summary>
    public IReadOnlyList<Uri> LoadServers() => File.Exists(ServersPath)
        ? [.. File.ReadAllLines(ServersPath).Select(l => Uri.TryCreate(l.Trim(), UriKind.Absolute, out var u) ? u : null).OfType<Uri>()]
        : [];

    /// <summary>Remembers the servers, so a restart can reach the cluster when the --server one is down.</summary>
    public void SaveServers(IEnumerable<Uri> servers) => AtomicFile.WriteText(ServersPath, string.Concat(servers.Select(s => s + "\n")));

    /// <summary>
    /// True when <paramref name="pair"/> should be renewed at <paramref name="now"/>: missing, unreadable, or a third
    /// or less of its validity left (a year's certificate is renewed four months ahead).
    /// </summary>
    public static bool NeedsRenewal(PemPair? pair, DateTimeOffset now)
    {
        if (pair is null) return true;
        try
        {
            using var cert = pair.ToCertificate();
            var lifetime = cert.NotAfter - cert.NotBefore;
            return now.UtcDateTime > cert.NotAfter.ToUniversalTime() - lifetime / 3;
        }
        catch (CryptographicException)
        {
            return true;
        }
    }

    void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(Path.GetDirectoryName(path)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        AtomicFile.WriteText(path, text, Secret);
    }
}
