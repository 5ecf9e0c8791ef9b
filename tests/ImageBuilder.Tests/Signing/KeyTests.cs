// `appliance key generate` and the key file formats, checked with openssl.
using System.Security.Cryptography;
using Appliance.ImageBuilder.Signing.Keys;
using Appliance.ImageBuilder.Tests.Cli;

namespace Appliance.ImageBuilder.Tests.Signing;

public class KeyTests
{
    private static readonly Dictionary<string, string?> Env = new() { ["APPLIANCE_KEY_PASSWORD"] = "pw-for-tests" };

    [Fact]
    [Trait("Category", "Unit")]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Generate_writes_a_0600_encrypted_private_key_and_a_public_key_and_prints_the_key_id()
    {
        using var dir = new TempDir();
        var r = CliRunner.Run(Env, "key", "generate", "-o", dir["k"]);
        Assert.True(r.ExitCode == 0, r.Error);
        var files = KeyPairFiles.In(dir["k"]);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(files.PrivateKeyPath));
        Assert.StartsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----", File.ReadAllText(files.PrivateKeyPath));
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", File.ReadAllText(files.PublicKeyPath));
        using var pub = VerificationKey.ReadPem(files.PublicKeyPath);
        using var priv = SigningKey.ReadPem(files.PrivateKeyPath, "pw-for-tests");
        Assert.Equal(pub.Id, priv.Id);
        Assert.Contains(pub.Id, r.Out);
        Assert.Equal(Convert.ToBase64String(SHA256.HashData(pub.SubjectPublicKeyInfo)), pub.Id);
        Assert.Empty(Directory.GetFiles(dir["k"], "*.tmp", SearchOption.AllDirectories).Concat(Directory.GetFiles(dir["k"], ".*")));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Generate_refuses_to_overwrite_an_existing_key()
    {
        using var dir = new TempDir();
        Assert.Equal(0, CliRunner.Run(Env, "key", "generate", "-o", dir.Path).ExitCode);
        var before = File.ReadAllBytes(KeyPairFiles.In(dir.Path).PrivateKeyPath);
        var r = CliRunner.Run(Env, "key", "generate", "-o", dir.Path);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("already exists; refusing to overwrite", r.Error);
        Assert.Single(r.Error.TrimEnd().Split('\n'));
        Assert.Equal(before, File.ReadAllBytes(KeyPairFiles.In(dir.Path).PrivateKeyPath));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Without_password_and_terminal_the_error_says_to_set_the_variable()
    {
        if (!Console.IsInputRedirected)
            Assert.Skip("stdin of the test host is a terminal here, so the command would prompt");
        using var dir = new TempDir();
        var r = CliRunner.Run(new Dictionary<string, string?> { ["APPLIANCE_KEY_PASSWORD"] = null }, "key", "generate", "-o", dir.Path);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("set APPLIANCE_KEY_PASSWORD", r.Error);
        Assert.False(File.Exists(KeyPairFiles.In(dir.Path).PrivateKeyPath));
    }

    [Fact]
    [Trait("Category", "External")]
    public void Openssl_reads_our_keys_and_agrees_on_the_key_id_and_the_kdf()
    {
        var openssl = Tools.Require("openssl");
        using var dir = new TempDir();
        using var key = SigningKey.Generate();
        var files = KeyPairFiles.In(dir.Path);
        files.Write(key, "pw");
        var der = ProcessRunner.Run(openssl, ["pkey", "-pubin", "-in", files.PublicKeyPath, "-outform", "DER", "-out", dir["pub.der"]]);
        Assert.True(der.ExitCode == 0, der.Error);
        Assert.Equal(key.Id, Convert.ToBase64String(SHA256.HashData(File.ReadAllBytes(dir["pub.der"]))));

        var text = ProcessRunner.Run(openssl, ["pkey", "-in", files.PrivateKeyPath, "-passin", "pass:pw", "-noout", "-text"]);
        Assert.True(text.ExitCode == 0, text.Error);
        Assert.Contains("P-256", text.Out);
        var wrong = ProcessRunner.Run(openssl, ["pkey", "-in", files.PrivateKeyPath, "-passin", "pass:nope", "-noout"]);
        Assert.NotEqual(0, wrong.ExitCode);

        var asn1 = ProcessRunner.Run(openssl, ["asn1parse", "-in", files.PrivateKeyPath]);
        Assert.Contains(":PBES2", asn1.Out);
        Assert.Contains(":PBKDF2", asn1.Out);
        Assert.Contains(":hmacWithSHA256", asn1.Out);
        Assert.Contains(":aes-256-cbc", asn1.Out);
        Assert.Contains($":{SigningKey.Pbkdf2Iterations:X6}", asn1.Out.Replace(" ", ""));
    }
}
