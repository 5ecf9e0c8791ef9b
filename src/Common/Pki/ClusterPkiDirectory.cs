// A cluster PKI directory made by `appliance cluster init`: created whole or not at all, read back with its consistency checked.
using System.Security.Cryptography;

namespace Appliance.Common.Pki;

/// <summary>
/// A directory holding a cluster's identity in the layout of a server's data directory, plus the admin credentials:
/// <code>
/// DIR/                  0700
///   tls/                0700
///     server-ca.crt/.key, client-ca.crt/.key, service.key, client-admin.crt/.key   0600
///   token               0600  K10&lt;sha256 of tls/server-ca.crt&gt;::server:&lt;secret&gt;
///   admin.kubeconfig    0600  the admin client certificate, server <see cref="PlaceholderServer"/>
/// </code>
/// </summary>
/// <param name="Path">The directory.</param>
/// <param name="Pki">The cluster identity.</param>
/// <param name="Admin">The admin client certificate (signed by the client CA).</param>
public sealed record ClusterPkiDirectory(string Path, ClusterPki Pki, PemPair Admin)
{
    /// <summary>The server address written into <see cref="AdminKubeconfig"/>: a forwarded or local API port. A build writes the site's own.</summary>
    public const string PlaceholderServer = "https://127.0.0.1:6443";

    /// <summary>The admin kubeconfig's file name.</summary>
    public const string AdminKubeconfig = "admin.kubeconfig";

    /// <summary>Every file of a complete directory, relative to it.</summary>
    public static IReadOnlyList<string> Files { get; } =
    [
        .. ClusterPkiFiles.ProvidedTls.Select(Tls),
        Tls(ClusterPkiFiles.Certificate(ClusterPkiFiles.Admin)), Tls(ClusterPkiFiles.Key(ClusterPkiFiles.Admin)),
        ClusterPkiFiles.Token, AdminKubeconfig,
    ];

    private static readonly AtomicFileOptions Secret = new(Mode: AtomicFileOptions.OwnerOnly);
    private const UnixFileMode OwnerDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private static string Tls(string name) => ClusterPkiFiles.TlsDirectory + "/" + name;

    /// <summary>The files of <see cref="Files"/> missing from <paramref name="directory"/>.</summary>
    public static IReadOnlyList<string> Missing(string directory) =>
        Files.Where(f => !File.Exists(System.IO.Path.Combine(directory, f))).ToList();

    /// <summary>
    /// Reads a complete directory and checks that it holds one cluster: every key belongs to its certificate, the admin
    /// certificate is signed by the client CA, and the token pins the server CA.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException"><paramref name="directory"/> does not exist.</exception>
    /// <exception cref="InvalidDataException">A file is missing or the files do not agree; the message names them.</exception>
    public static ClusterPkiDirectory Read(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"{directory}: no such directory (make one with 'appliance cluster init {directory}')");
        if (Missing(directory) is { Count: > 0 } missing)
            throw new InvalidDataException($"{directory}: not a complete cluster PKI: missing {string.Join(", ", missing)}");
        string Text(string name) => File.ReadAllText(System.IO.Path.Combine(directory, name));
        PemPair Pair(string pair)
        {
            var p = new PemPair(Text(Tls(ClusterPkiFiles.Certificate(pair))), Text(Tls(ClusterPkiFiles.Key(pair))));
            try { p.ToCertificate().Dispose(); }
            catch (Exception e) when (e is CryptographicException or ArgumentException) // ArgumentException: a key of another certificate
            {
                throw new InvalidDataException($"{directory}: {Tls(ClusterPkiFiles.Key(pair))} is not the key of {Tls(ClusterPkiFiles.Certificate(pair))} ({e.Message})");
            }
            return p;
        }
        var serverCa = Pair(ClusterPkiFiles.ServerCa);
        var clientCa = Pair(ClusterPkiFiles.ClientCa);
        var admin = Pair(ClusterPkiFiles.Admin);
        if (!CertificateFactory.IsSignedBy(admin.CertificatePem, clientCa.CertificatePem))
            throw new InvalidDataException($"{directory}: {Tls(ClusterPkiFiles.Certificate(ClusterPkiFiles.Admin))} is not signed by {Tls(ClusterPkiFiles.Certificate(ClusterPkiFiles.ClientCa))}");
        var serviceKey = Text(Tls(ClusterPkiFiles.ServiceKey));
        if (!PemEncoding.TryFind(serviceKey, out var fields) || !serviceKey[fields.Label].EndsWith("PRIVATE KEY", StringComparison.Ordinal))
            throw new InvalidDataException($"{directory}: {Tls(ClusterPkiFiles.ServiceKey)} holds no PEM private key");
        var tokenText = Text(ClusterPkiFiles.Token).Trim();
        if (!NodeToken.TryParse(tokenText, out var token))
            throw new InvalidDataException($"{directory}: {ClusterPkiFiles.Token} is not a node token K10<sha256 hex>::server:<secret>");
        if (!token.Pins(serverCa.CertificatePem))
            throw new InvalidDataException($"{directory}: the CA hash of {ClusterPkiFiles.Token} ({token.CaHash[..12]}...) is not the hash of {Tls(ClusterPkiFiles.Certificate(ClusterPkiFiles.ServerCa))} ({NodeToken.HashCa(serverCa.CertificatePem)[..12]}...)");
        return new ClusterPkiDirectory(directory, new ClusterPki(serverCa, clientCa, serviceKey, token), admin);
    }

    /// <summary>
    /// Makes a new cluster PKI in <paramref name="directory"/>, which must not exist or be empty. Everything is written
    /// into a temporary sibling (0700, files 0600, each fsynced) that is renamed into place at the end, so the directory
    /// appears complete or not at all. A directory that already holds a complete PKI is read and kept, never
    /// overwritten (<c>Created</c> false).
    /// </summary>
    /// <exception cref="InvalidDataException">The directory holds something other than a complete, consistent PKI.</exception>
    public static (ClusterPkiDirectory Directory, bool Created) Create(string directory, DateTimeOffset now)
    {
        var full = System.IO.Path.GetFullPath(directory);
        if (File.Exists(full))
            throw new InvalidDataException($"{directory}: is a file; expected a new or empty directory");
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
        {
            if (Missing(full) is { Count: > 0 } missing)
                throw new InvalidDataException($"{directory}: not empty and not a complete cluster PKI (missing {string.Join(", ", missing)}); " +
                    "nothing was written: choose a new directory, or move this one away");
            return (Read(directory), false);
        }
        // Missing parents are made, as mkdir -p would (a fresh clone has no profiles/pki: it is git-ignored).
        var parent = System.IO.Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);

        var pki = ClusterPki.Create(now);
        var admin = ClusterPki.IssueAdmin(pki.ClientCa, now);
        var temp = System.IO.Path.Combine(parent, $".{System.IO.Path.GetFileName(full)}.tmp-{Guid.NewGuid():N}");
        var tracked = AtomicFile.Tracker?.Track(temp);
        try
        {
            Directory.CreateDirectory(System.IO.Path.Combine(temp, ClusterPkiFiles.TlsDirectory));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, OwnerDirectory);
                File.SetUnixFileMode(System.IO.Path.Combine(temp, ClusterPkiFiles.TlsDirectory), OwnerDirectory);
            }
            void Write(string name, string text) => AtomicFile.WriteText(System.IO.Path.Combine(temp, name), text, Secret);
            foreach (var (name, pem) in pki.TlsFiles)
                Write(Tls(name), pem);
            Write(Tls(ClusterPkiFiles.Certificate(ClusterPkiFiles.Admin)), admin.CertificatePem);
            Write(Tls(ClusterPkiFiles.Key(ClusterPkiFiles.Admin)), admin.KeyPem);
            Write(ClusterPkiFiles.Token, pki.Token + "\n");
            Write(AdminKubeconfig, Kubeconfig.Render(PlaceholderServer, pki.ServerCa, admin));
            AtomicFile.SyncDirectory(temp);
            if (Directory.Exists(full))
                Directory.Delete(full); // empty (checked above); a rename cannot replace a directory in .NET
            Directory.Move(temp, full);
            AtomicFile.SyncDirectory(parent);
        }
        catch
        {
            try { if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            throw;
        }
        finally
        {
            tracked?.Dispose();
        }
        return (new ClusterPkiDirectory(directory, pki, admin), true);
    }
}
