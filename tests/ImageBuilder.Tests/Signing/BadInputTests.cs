// Bad keys, passwords, bundles and paths: one clear line each, exit 2 (1 for a verification that fails), no stack trace.
using System.Security.Cryptography;
using Appliance.ImageBuilder.Tests.Cli;

namespace Appliance.ImageBuilder.Tests.Signing;

public class BadInputTests(KeyFixture keys) : IClassFixture<KeyFixture>
{
    private static void AssertOneLine(CliResult r, int exitCode, string expected)
    {
        Assert.True(r.ExitCode == exitCode, $"exit {r.ExitCode}, stderr: {r.Error}");
        var lines = r.Error.TrimEnd().Split('\n');
        Assert.True(lines.Length == 1, "expected one line, got:\n" + r.Error);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", r.Error);
        Assert.DoesNotContain("Exception", r.Error);
    }

    private static string Artifact(TempDir dir)
    {
        var p = dir["artifact.bin"];
        File.WriteAllBytes(p, RandomNumberGenerator.GetBytes(4096));
        return p;
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Wrong_password()
    {
        using var dir = new TempDir();
        var env = new Dictionary<string, string?> { ["APPLIANCE_KEY_PASSWORD"] = "not the password" };
        var r = CliRunner.Run(env, "sign", Artifact(dir), "--key", keys.Files.PrivateKeyPath);
        AssertOneLine(r, 2, "wrong password");
        Assert.Contains(keys.Files.PrivateKeyPath, r.Error);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.sigstore.json"));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Truncated_private_and_public_pem()
    {
        using var dir = new TempDir();
        var art = Artifact(dir);
        var priv = File.ReadAllText(keys.Files.PrivateKeyPath);
        File.WriteAllText(dir["cut.key"], priv[..(priv.Length / 2)]);
        AssertOneLine(CliRunner.Run(KeyFixture.Env, "sign", art, "--key", dir["cut.key"]), 2, "cut.key:1: PEM block is incomplete or damaged");

        var pub = File.ReadAllText(keys.Files.PublicKeyPath);
        File.WriteAllText(dir["cut.pub"], pub[..(pub.Length - 30)]);
        Assert.Equal(0, CliRunner.Run(KeyFixture.Env, "sign", art, "--key", keys.Files.PrivateKeyPath).ExitCode);
        AssertOneLine(CliRunner.Run("verify", art, "--key", dir["cut.pub"]), 2, "PEM block is incomplete or damaged");

        // Whole PEM lines missing from the middle: the PEM frame is intact, the DER inside is not.
        var lines = pub.Split('\n');
        File.WriteAllText(dir["short.pub"], string.Join('\n', lines.Take(1).Concat(lines.Skip(2))));
        AssertOneLine(CliRunner.Run("verify", art, "--key", dir["short.pub"]), 2, "short.pub: public key is damaged");
        var privLines = priv.Split('\n');
        File.WriteAllText(dir["short.key"], string.Join('\n', privLines.Take(2).Concat(privLines.Skip(3))));
        AssertOneLine(CliRunner.Run(KeyFixture.Env, "sign", art, "--key", dir["short.key"]), 2, "short.key: cannot decrypt the private key");
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Rsa_keys_where_p256_is_expected()
    {
        using var dir = new TempDir();
        var art = Artifact(dir);
        using var rsa = RSA.Create(2048);
        File.WriteAllText(dir["rsa.key"], rsa.ExportEncryptedPkcs8PrivateKeyPem(KeyFixture.Password,
            new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000)));
        File.WriteAllText(dir["rsa.pub"], rsa.ExportSubjectPublicKeyInfoPem());
        AssertOneLine(CliRunner.Run(KeyFixture.Env, "sign", art, "--key", dir["rsa.key"]), 2, "is an RSA private key; expected ECDSA P-256");
        Assert.Equal(0, CliRunner.Run(KeyFixture.Env, "sign", art, "--key", keys.Files.PrivateKeyPath).ExitCode);
        AssertOneLine(CliRunner.Run("verify", art, "--key", dir["rsa.pub"]), 2, "is an RSA public key; expected ECDSA P-256");

        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        File.WriteAllText(dir["p384.pub"], p384.ExportSubjectPublicKeyInfoPem());
        AssertOneLine(CliRunner.Run("verify", art, "--key", dir["p384.pub"]), 2, "is an ECDSA P-384 public key; expected ECDSA P-256");
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Public_key_given_to_sign_and_private_key_given_to_verify()
    {
        using var dir = new TempDir();
        var art = Artifact(dir);
        AssertOneLine(CliRunner.Run(KeyFixture.Env, "sign", art, "--key", keys.Files.PublicKeyPath), 2, "is a public key; signing needs the private key");
        Assert.Equal(0, CliRunner.Run(KeyFixture.Env, "sign", art, "--key", keys.Files.PrivateKeyPath).ExitCode);
        AssertOneLine(CliRunner.Run("verify", art, "--key", keys.Files.PrivateKeyPath), 2, "is a private key; verification needs the public key");
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Bundle_of_another_media_type_fails_verification_with_the_reason()
    {
        using var dir = new TempDir();
        var art = Artifact(dir);
        Assert.Equal(0, CliRunner.Run(KeyFixture.Env, "sign", art, "--key", keys.Files.PrivateKeyPath).ExitCode);
        var b = art + ".sigstore.json";
        File.WriteAllText(b, File.ReadAllText(b).Replace("bundle.v0.3+json", "bundle+json;version=0.1"));
        AssertOneLine(CliRunner.Run("verify", art, "--key", keys.Files.PublicKeyPath), 1,
            "bundle mediaType is 'application/vnd.dev.sigstore.bundle+json;version=0.1'; only 'application/vnd.dev.sigstore.bundle.v0.3+json' is supported");
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Missing_files()
    {
        using var dir = new TempDir();
        var art = Artifact(dir);
        AssertOneLine(CliRunner.Run(KeyFixture.Env, "sign", dir["nope.bin"], "--key", keys.Files.PrivateKeyPath), 2, "nope.bin: file to sign not found");
        AssertOneLine(CliRunner.Run(KeyFixture.Env, "sign", art, "--key", dir["nope.key"]), 2, "nope.key: key file not found");
        AssertOneLine(CliRunner.Run("verify", art, "--key", keys.Files.PublicKeyPath), 2, "artifact.bin.sigstore.json: bundle not found");
        AssertOneLine(CliRunner.Run("verify", dir["nope.bin"], "--key", keys.Files.PublicKeyPath), 2, "nope.bin: file not found");
        AssertOneLine(CliRunner.Run("verify", art, "--key", dir["nope.pub"]), 2, "nope.pub: public key file not found");
        AssertOneLine(CliRunner.Run("sbom", "--dpkg-status", dir["status"], "-o", dir["x.json"]), 2, "status: dpkg status file not found");
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Bundle_that_is_not_json_names_line_and_column()
    {
        using var dir = new TempDir();
        var art = Artifact(dir);
        File.WriteAllText(art + ".sigstore.json", "{\n  \"mediaType\": \"x\",\n  oops\n}");
        AssertOneLine(CliRunner.Run("verify", art, "--key", keys.Files.PublicKeyPath), 2, "artifact.bin.sigstore.json:3:3: not valid JSON");
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Bundle_missing_a_field_names_the_field_path()
    {
        using var dir = new TempDir();
        var art = Artifact(dir);
        File.WriteAllText(art + ".sigstore.json",
            "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":{\"publicKey\":{}}}");
        AssertOneLine(CliRunner.Run("verify", art, "--key", keys.Files.PublicKeyPath), 2, "verificationMaterial.publicKey.hint: missing");
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Malformed_provenance_and_image_reference()
    {
        using var dir = new TempDir();
        var art = Artifact(dir);
        File.WriteAllText(dir["prov.json"], "{\"inputs\":[{\"name\":\"os\",\"sha256\":\"abc\"}]}");
        AssertOneLine(CliRunner.Run(KeyFixture.Env, "sign", art, "--key", keys.Files.PrivateKeyPath, "--provenance", dir["prov.json"]), 2,
            "prov.json: inputs[0].sha256: 'abc' is not 64 lower-case hex digits");
        File.WriteAllText(dir["prov.json"], "{\"profile\":{\"name\":\"p\",\"sha256\":\"" + new string('a', 64) + "\",\"colour\":1}}");
        AssertOneLine(CliRunner.Run(KeyFixture.Env, "sign", art, "--key", keys.Files.PrivateKeyPath, "--provenance", dir["prov.json"]), 2,
            "prov.json:1:");
        File.WriteAllText(dir["status"], "Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n");
        AssertOneLine(CliRunner.Run("sbom", "--dpkg-status", dir["status"], "--image", "nginx:1.25", "-o", dir["x.json"]), 2,
            "--image: image 'nginx:1.25': expected NAME@sha256:DIGEST");
        Assert.False(File.Exists(dir["x.json"]));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Malformed_dpkg_status_names_file_and_line()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["status"], "Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\nPackage: b\nthis line has no colon\n");
        AssertOneLine(CliRunner.Run("sbom", "--dpkg-status", dir["status"], "-o", dir["x.json"]), 2, "status:7:1: expected 'Field: value'");
        Assert.False(File.Exists(dir["x.json"]));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Bundle_into_a_missing_directory_names_the_directory()
    {
        using var dir = new TempDir();
        var art = Artifact(dir);
        AssertOneLine(CliRunner.Run(KeyFixture.Env, "sign", art, "--key", keys.Files.PrivateKeyPath, "--bundle", dir["no/such/b.json"]), 2,
            "no/such: directory does not exist");
    }
}
