// `appliance cluster init DIR`: the files, their modes, the token format, and the refusals that protect existing keys.
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using Appliance.Common.Pki;

namespace Appliance.ImageBuilder.Tests.Cli;

[Trait("Category", "Unit")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ClusterInitTests
{
    private const UnixFileMode Owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerDir = Owner | UnixFileMode.UserExecute;

    private static Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes);

    [Fact]
    public void Init_WritesEveryFile0600_InA0700Directory_WithTheRuntimesTokenFormat()
    {
        using var tmp = new TempDir();
        var dir = tmp["site-pki"];
        var r = CliRunner.Run("cluster", "init", dir);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains($"{dir}: cluster PKI created", r.Out);

        Assert.Equal(OwnerDir, File.GetUnixFileMode(dir));
        Assert.Equal(OwnerDir, File.GetUnixFileMode(Path.Combine(dir, "tls")));
        string[] expected = ["admin.kubeconfig", "tls/client-admin.crt", "tls/client-admin.key", "tls/client-ca.crt", "tls/client-ca.key",
            "tls/server-ca.crt", "tls/server-ca.key", "tls/service.key", "token"];
        Assert.Equal(expected, Snapshot(dir).Keys.Order(StringComparer.Ordinal));
        foreach (var f in expected)
            Assert.True(File.GetUnixFileMode(Path.Combine(dir, f)) == Owner, $"{f}: {File.GetUnixFileMode(Path.Combine(dir, f))}");
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path, ".site-pki.tmp-*")); // the temporary sibling was renamed, not left

        // K10 + SHA-256 (hex) of the server CA file's exact bytes, as the runtime serves them at /cacerts; a 128-bit secret.
        var token = File.ReadAllText(Path.Combine(dir, "token"));
        var caHash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, "tls/server-ca.crt"))));
        Assert.Matches(new Regex($"^K10{caHash}::server:[0-9a-f]{{32}}\n$"), token);
        Assert.Contains(caHash, r.Out);

        using var serverCa = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(dir, "tls/server-ca.crt")), File.ReadAllText(Path.Combine(dir, "tls/server-ca.key")));
        using var clientCa = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(dir, "tls/client-ca.crt")), File.ReadAllText(Path.Combine(dir, "tls/client-ca.key")));
        Assert.Equal("CN=" + ClusterPki.ServerCaName, serverCa.Subject);
        Assert.Equal("CN=" + ClusterPki.ClientCaName, clientCa.Subject);
        Assert.NotEqual(serverCa.Thumbprint, clientCa.Thumbprint);
        Assert.True(serverCa.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);

        var adminPem = File.ReadAllText(Path.Combine(dir, "tls/client-admin.crt"));
        using var admin = X509Certificate2.CreateFromPem(adminPem);
        Assert.Equal("CN=system:admin, O=system:masters", admin.Subject);
        Assert.True(CertificateFactory.IsSignedBy(adminPem, clientCa.ExportCertificatePem()));
        Assert.False(CertificateFactory.IsSignedBy(adminPem, serverCa.ExportCertificatePem()));

        using var rsa = RSA.Create();
        rsa.ImportFromPem(File.ReadAllText(Path.Combine(dir, "tls/service.key")));
        Assert.Equal(2048, rsa.KeySize);

        var kubeconfig = File.ReadAllText(Path.Combine(dir, "admin.kubeconfig"));
        Assert.Contains($"server: {ClusterPkiDirectory.PlaceholderServer}\n", kubeconfig);
        Assert.Contains("certificate-authority-data: " + Convert.ToBase64String(File.ReadAllBytes(Path.Combine(dir, "tls/server-ca.crt"))), kubeconfig);
        Assert.Contains("client-certificate-data: " + Convert.ToBase64String(Encoding.UTF8.GetBytes(adminPem)), kubeconfig);

        // Read back, it is one consistent cluster.
        var read = ClusterPkiDirectory.Read(dir);
        Assert.Equal(token.Trim(), read.Pki.Token.ToString());
    }

    [Fact]
    public void Init_OnACompletePki_SaysSo_AndChangesNothing()
    {
        using var tmp = new TempDir();
        var dir = tmp["pki"];
        Assert.Equal(0, CliRunner.Run("cluster", "init", dir).ExitCode);
        var before = Snapshot(dir);
        var again = CliRunner.Run("cluster", "init", dir);
        Assert.True(again.ExitCode == 0, again.Error);
        Assert.Contains("already holds a complete cluster PKI; nothing was changed", again.Out);
        Assert.Equal(before, Snapshot(dir));
    }

    [Fact]
    public void Init_IntoAnEmptyDirectory_Works()
    {
        using var tmp = new TempDir();
        var dir = tmp["empty"];
        Directory.CreateDirectory(dir);
        var r = CliRunner.Run("cluster", "init", dir);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Empty(ClusterPkiDirectory.Missing(dir));
        Assert.Equal(OwnerDir, File.GetUnixFileMode(dir));
    }

    [Fact]
    public void Init_RefusesANonEmptyDirectory_AndAnIncompletePki_WithoutWritingAnything()
    {
        using var tmp = new TempDir();
        var other = tmp["other"];
        Directory.CreateDirectory(other);
        File.WriteAllText(Path.Combine(other, "notes.txt"), "mine");
        var r = CliRunner.Run("cluster", "init", other);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"appliance: {other}: not empty and not a complete cluster PKI (missing {string.Join(", ", ClusterPkiDirectory.Files)}); " +
            "nothing was written: choose a new directory, or move this one away\n", r.Error);
        Assert.Equal(["notes.txt"], Snapshot(other).Keys);

        var pki = tmp["pki"];
        Assert.Equal(0, CliRunner.Run("cluster", "init", pki).ExitCode);
        File.Delete(Path.Combine(pki, "tls/server-ca.key"));
        var before = Snapshot(pki);
        var broken = CliRunner.Run("cluster", "init", pki);
        Assert.Equal(2, broken.ExitCode);
        Assert.Contains("(missing tls/server-ca.key)", broken.Error);
        Assert.Equal(before, Snapshot(pki)); // the other keys were not replaced
    }

    [Fact]
    public void Read_RefusesATokenOfAnotherCa_AndAKeyOfAnotherCertificate()
    {
        using var tmp = new TempDir();
        var (a, _) = ClusterPkiDirectory.Create(tmp["a"], DateTimeOffset.UtcNow);
        var (b, _) = ClusterPkiDirectory.Create(tmp["b"], DateTimeOffset.UtcNow);
        File.WriteAllText(Path.Combine(a.Path, "token"), b.Pki.Token + "\n");
        var e = Assert.Throws<InvalidDataException>(() => ClusterPkiDirectory.Read(a.Path));
        Assert.Contains("the CA hash of token", e.Message);

        File.WriteAllText(Path.Combine(b.Path, "tls/client-ca.key"), a.Pki.ClientCa.KeyPem);
        var k = Assert.Throws<InvalidDataException>(() => ClusterPkiDirectory.Read(b.Path));
        Assert.Contains("tls/client-ca.key is not the key of tls/client-ca.crt", k.Message);
    }
}
