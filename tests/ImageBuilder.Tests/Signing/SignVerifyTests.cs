// Sign then verify through the CLI: what is verified, the provenance it carries, and every tampering it catches.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.ImageBuilder.Tests.Cli;

namespace Appliance.ImageBuilder.Tests.Signing;

public class SignVerifyTests(KeyFixture keys) : IClassFixture<KeyFixture>
{
    private string Sign(string file, string format = "dsse", params string[] extra)
    {
        var r = CliRunner.Run(KeyFixture.Env, ["sign", file, "--key", keys.Files.PrivateKeyPath, "--format", format, .. extra]);
        Assert.True(r.ExitCode == 0, r.Error);
        return file + ".sigstore.json";
    }

    private CliResult Verify(string file, string? bundle = null, string? pub = null, params string[] extra) =>
        CliRunner.Run(["verify", file, "--key", pub ?? keys.Files.PublicKeyPath, .. bundle == null ? Array.Empty<string>() : ["--bundle", bundle], .. extra]);

    private static string NewArtifact(TempDir dir, int size = 64 * 1024)
    {
        var p = dir["site.img"];
        File.WriteAllBytes(p, RandomNumberGenerator.GetBytes(size));
        return p;
    }

    private static string Hex(byte[] b) => Convert.ToHexStringLower(b);

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void Dsse_bundle_verifies_and_json_output_is_the_statement_about_the_file()
    {
        using var dir = new TempDir();
        var art = NewArtifact(dir);
        var bundle = JsonNode.Parse(File.ReadAllText(Sign(art)))!;
        Assert.Equal("application/vnd.dev.sigstore.bundle.v0.3+json", (string?)bundle["mediaType"]);
        Assert.Equal(keys.Key.Id, (string?)bundle["verificationMaterial"]!["publicKey"]!["hint"]);
        Assert.Empty(bundle["verificationMaterial"]!["tlogEntries"]!.AsArray());
        Assert.Equal("application/vnd.in-toto+json", (string?)bundle["dsseEnvelope"]!["payloadType"]);

        var text = Verify(art);
        Assert.True(text.ExitCode == 0, text.Error);
        Assert.Contains("Verified", text.Out);
        Assert.Contains(keys.Key.Id, text.Out);

        var json = Verify(art, null, null, "--output", "json");
        Assert.True(json.ExitCode == 0, json.Error);
        var statement = JsonNode.Parse(json.Out)!;
        Assert.Equal("https://in-toto.io/Statement/v1", (string?)statement["_type"]);
        Assert.Equal("site.img", (string?)statement["subject"]![0]!["name"]);
        Assert.Equal(Hex(SHA256.HashData(File.ReadAllBytes(art))), (string?)statement["subject"]![0]!["digest"]!["sha256"]);
        Assert.Equal("https://slsa.dev/provenance/v1", (string?)statement["predicateType"]);
        Assert.Equal(1700000000, (long)statement["predicate"]!["buildDefinition"]!["internalParameters"]!["SOURCE_DATE_EPOCH"]!);
    }

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void Provenance_lists_profile_every_input_builder_version_epoch_and_the_sbom()
    {
        using var dir = new TempDir();
        var art = NewArtifact(dir);
        File.WriteAllText(dir["site.cdx.json"], "{\"bomFormat\":\"CycloneDX\"}");
        string H(char c) => new(c, 64);
        File.WriteAllText(dir["prov.json"], $$"""
            {
              "profile": {"name": "shop-17.yaml", "sha256": "{{H('1')}}"},
              "inputs": [
                {"kind": "os-image", "name": "debian-12-base", "sha256": "{{H('2')}}", "uri": "oci:store/os@sha256:{{H('2')}}"},
                {"kind": "runtime", "name": "appliance-runtime", "sha256": "{{H('3')}}"},
                {"kind": "image", "name": "docker.io/library/nginx:1.25", "sha256": "{{H('4')}}"}
              ]
            }
            """);
        Sign(art, "dsse", "--provenance", dir["prov.json"], "--sbom", dir["site.cdx.json"]);
        var r = Verify(art, null, null, "--output", "json");
        Assert.True(r.ExitCode == 0, r.Error);
        var p = JsonNode.Parse(r.Out)!["predicate"]!;
        var def = p["buildDefinition"]!;
        Assert.Equal("https://appliance.dev/build/v1", (string?)def["buildType"]);
        Assert.Equal(H('1'), (string?)def["externalParameters"]!["profile"]!["digest"]!["sha256"]);
        var deps = def["resolvedDependencies"]!.AsArray();
        Assert.Equal(["os-image", "runtime", "image"], deps.Select(d => (string?)d!["annotations"]!["kind"]));
        Assert.Equal([H('2'), H('3'), H('4')], deps.Select(d => (string?)d!["digest"]!["sha256"]));
        Assert.Equal($"oci:store/os@sha256:{H('2')}", (string?)deps[0]!["uri"]);
        Assert.Equal(1700000000, (long)def["internalParameters"]!["SOURCE_DATE_EPOCH"]!);
        Assert.StartsWith("0.1.0+", (string?)p["runDetails"]!["builder"]!["version"]!["appliance"]);
        var sbom = p["runDetails"]!["byproducts"]![0]!;
        Assert.Equal("site.cdx.json", (string?)sbom["name"]);
        Assert.Equal(Hex(SHA256.HashData(File.ReadAllBytes(dir["site.cdx.json"]))), (string?)sbom["digest"]!["sha256"]);
        Assert.Equal("application/vnd.cyclonedx+json", (string?)sbom["mediaType"]);
    }

    [Theory]
    [Trait("Category", "RoundTrip")]
    [InlineData("dsse")]
    [InlineData("message")]
    public void Signing_the_same_file_twice_gives_a_byte_identical_bundle(string format)
    {
        using var dir = new TempDir();
        var art = NewArtifact(dir);
        var first = File.ReadAllBytes(Sign(art, format));
        File.Delete(art + ".sigstore.json");
        var second = File.ReadAllBytes(Sign(art, format));
        Assert.Equal(first, second);
        Assert.Equal(0, Verify(art).ExitCode);
    }

    [Theory]
    [Trait("Category", "RoundTrip")]
    [InlineData("dsse")]
    [InlineData("message")]
    public void Flipping_one_byte_at_100_positions_fails_with_the_digest_reason(string format)
    {
        using var dir = new TempDir();
        var art = NewArtifact(dir, 256 * 1024);
        Sign(art, format);
        Assert.Equal(0, Verify(art).ExitCode);
        var original = File.ReadAllBytes(art);
        var rng = new Random(6);
        var positions = new SortedSet<int> { 0, original.Length - 1 };
        while (positions.Count < 100)
            positions.Add(rng.Next(original.Length));
        foreach (var pos in positions)
        {
            var bytes = (byte[])original.Clone();
            bytes[pos] ^= (byte)(1 << rng.Next(8));
            File.WriteAllBytes(art, bytes);
            var r = Verify(art);
            Assert.True(r.ExitCode == 1, $"byte {pos}: exit {r.ExitCode} {r.Error}");
            Assert.Contains("does not match the signed", r.Error);
            Assert.Contains("the file was altered", r.Error);
        }
        File.WriteAllBytes(art, original);
        Assert.Equal(0, Verify(art).ExitCode);
    }

    [Theory]
    [Trait("Category", "RoundTrip")]
    [InlineData("dsse", "hint", "was signed by key")]
    [InlineData("dsse", "payload", "DSSE signature does not verify")]
    [InlineData("dsse", "payloadType", "payloadType is 'application/json'")]
    [InlineData("dsse", "signature", "DSSE signature does not verify")]
    [InlineData("dsse", "keyid", "signatures[0].keyid is")]
    [InlineData("dsse", "mediaType", "bundle mediaType is")]
    [InlineData("message", "hint", "was signed by key")]
    [InlineData("message", "digest", "does not match the signed digest")]
    [InlineData("message", "signature", "message signature does not verify")]
    [InlineData("message", "mediaType", "bundle mediaType is")]
    public void Changing_a_bundle_field_fails_with_its_reason(string format, string field, string reason)
    {
        using var dir = new TempDir();
        var art = NewArtifact(dir);
        var path = Sign(art, format);
        var b = JsonNode.Parse(File.ReadAllText(path))!;
        var env = b["dsseEnvelope"];
        var ms = b["messageSignature"];
        switch (field)
        {
            case "hint":
                b["verificationMaterial"]!["publicKey"]!["hint"] = keys.Other.Id;
                break;
            case "mediaType":
                b["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.2+json";
                break;
            case "payloadType":
                env!["payloadType"] = "application/json";
                break;
            case "keyid":
                env!["signatures"]![0]!["keyid"] = keys.Other.Id;
                break;
            case "payload":
                // A valid statement about the same file, but with another builder version: only the signature can tell.
                var payload = Encoding.UTF8.GetString(Convert.FromBase64String((string)env!["payload"]!));
                env["payload"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(payload.Replace("\"appliance\":\"0.1.0", "\"appliance\":\"9.1.0")));
                break;
            case "signature" when env != null:
                env["signatures"]![0]!["sig"] = Convert.ToBase64String(FlipLast(Convert.FromBase64String((string)env["signatures"]![0]!["sig"]!)));
                break;
            case "signature":
                ms!["signature"] = Convert.ToBase64String(FlipLast(Convert.FromBase64String((string)ms["signature"]!)));
                break;
            case "digest":
                ms!["messageDigest"]!["digest"] = Convert.ToBase64String(new byte[32]);
                break;
        }
        File.WriteAllText(path, b.ToJsonString());
        var r = Verify(art);
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}: {r.Error}");
        Assert.Contains(reason, r.Error);
        Assert.Single(r.Error.TrimEnd().Split('\n'));
    }

    private static byte[] FlipLast(byte[] der)
    {
        der[^1] ^= 0x01;
        return der;
    }

    [Theory]
    [Trait("Category", "RoundTrip")]
    [InlineData("dsse")]
    [InlineData("message")]
    public void Another_key_fails_with_the_key_reason(string format)
    {
        using var dir = new TempDir();
        var art = NewArtifact(dir);
        Sign(art, format);
        var r = Verify(art, null, keys.OtherFiles.PublicKeyPath);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"the bundle was signed by key {keys.Key.Id}, not by the given key {keys.Other.Id}", r.Error);
    }

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void A_forged_hint_does_not_help_another_key()
    {
        using var dir = new TempDir();
        var art = NewArtifact(dir);
        var path = Sign(art);
        var b = JsonNode.Parse(File.ReadAllText(path))!;
        b["verificationMaterial"]!["publicKey"]!["hint"] = keys.Other.Id;
        b["dsseEnvelope"]!["signatures"]![0]!["keyid"] = keys.Other.Id;
        File.WriteAllText(path, b.ToJsonString());
        var r = Verify(art, null, keys.OtherFiles.PublicKeyPath);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("DSSE signature does not verify", r.Error);
    }

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void Bundle_path_option_and_message_json_output()
    {
        using var dir = new TempDir();
        var art = NewArtifact(dir);
        var r = CliRunner.Run(KeyFixture.Env, "sign", art, "--key", keys.Files.PrivateKeyPath, "--format", "message",
            "--bundle", dir["elsewhere.json"], "--output", "json");
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Equal(dir["elsewhere.json"], (string?)JsonNode.Parse(r.Out)!["bundle"]);
        Assert.False(File.Exists(art + ".sigstore.json"));
        var v = Verify(art, dir["elsewhere.json"], null, "--output", "json");
        Assert.True(v.ExitCode == 0, v.Error);
        using var doc = JsonDocument.Parse(v.Out);
        Assert.Equal("messageSignature", doc.RootElement.GetProperty("format").GetString());
        Assert.Equal(Hex(SHA256.HashData(File.ReadAllBytes(art))), doc.RootElement.GetProperty("digest").GetProperty("sha256").GetString());
    }

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void Library_picks_the_trusted_key_the_hint_names()
    {
        using var dir = new TempDir();
        var art = NewArtifact(dir);
        Sign(art);
        var ok = Appliance.ImageBuilder.Signing.Verifier.VerifyFile(art, [keys.Other.Public, keys.Key.Public]);
        Assert.True(ok.Verified, ok.Reason);
        Assert.Equal(keys.Key.Id, ok.KeyId);
        var no = Appliance.ImageBuilder.Signing.Verifier.VerifyFile(art, [keys.Other.Public]);
        Assert.Equal(Appliance.ImageBuilder.Signing.VerificationFailure.KeyMismatch, no.Failure);
        Assert.Contains("is not one of the 1 trusted keys", no.Reason);
    }
}
