// Our bundles checked by other verifiers: sigstore-js (@sigstore/verify, offline, key only) and openssl.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ImageBuilder.Tests.Cli;

namespace Appliance.ImageBuilder.Tests.Signing;

[Collection("npm")]
public class InteropTests(KeyFixture keys) : IClassFixture<KeyFixture>
{
    // Verifies a bundle with @sigstore/verify using only our public key: no CA, no TSA, no transparency log.
    private const string VerifyScript = """
        'use strict';
        const fs = require('fs');
        const crypto = require('crypto');
        const { bundleFromJSON } = require('@sigstore/bundle');
        const { toTrustMaterial, toSignedEntity, Verifier } = require('@sigstore/verify');
        const [bundlePath, keyPath, artifactPath] = process.argv.slice(2);
        try {
          const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
          const publicKey = crypto.createPublicKey(fs.readFileSync(keyPath, 'utf8'));
          const keyId = crypto.createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
          const trust = toTrustMaterial(
            { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] },
            (hint) => {
              if (hint !== keyId) throw new Error(`no trusted key with hint ${hint}`);
              return { publicKey, validFor: () => true };
            });
          const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
          const artifact = artifactPath ? fs.readFileSync(artifactPath) : undefined;
          verifier.verify(toSignedEntity(bundle, artifact));
          const out = { verified: true, keyId, content: bundle.content.$case };
          if (bundle.content.$case === 'dsseEnvelope') {
            out.payloadType = bundle.content.dsseEnvelope.payloadType;
            out.statement = JSON.parse(Buffer.from(bundle.content.dsseEnvelope.payload).toString('utf8'));
          }
          console.log(JSON.stringify(out));
        } catch (e) {
          console.error(`${e.code || e.name}: ${e.message}`);
          process.exit(1);
        }
        """;

    private static string SigstoreJs() =>
        NpmCache.Ensure("npm-sigstore", "@sigstore/verify/package.json", "@sigstore/verify@3.1.1", "@sigstore/bundle@3.1.0");

    private string SignedArtifact(TempDir dir, string format)
    {
        var art = dir["site.img"];
        File.WriteAllBytes(art, RandomNumberGenerator.GetBytes(100_000));
        var r = CliRunner.Run(KeyFixture.Env, "sign", art, "--key", keys.Files.PrivateKeyPath, "--format", format);
        Assert.True(r.ExitCode == 0, r.Error);
        return art;
    }

    [Fact]
    [Trait("Category", "External")]
    public void Sigstore_js_verifies_our_dsse_bundle_offline_with_only_the_public_key()
    {
        var npm = SigstoreJs();
        using var dir = new TempDir();
        var art = SignedArtifact(dir, "dsse");
        var r = NpmCache.RunScript(npm, "verify-bundle.js", VerifyScript, art + ".sigstore.json", keys.Files.PublicKeyPath);
        Assert.True(r.ExitCode == 0, r.Error + r.Out);
        var o = JsonNode.Parse(r.Out)!;
        Assert.Equal("dsseEnvelope", (string?)o["content"]);
        Assert.Equal(keys.Key.Id, (string?)o["keyId"]);
        Assert.Equal("application/vnd.in-toto+json", (string?)o["payloadType"]);
        // sigstore-js checks the signature over the PAE; the subject digest is ours to compare.
        var subject = o["statement"]!["subject"]![0]!;
        Assert.Equal("site.img", (string?)subject["name"]);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(art))), (string?)subject["digest"]!["sha256"]);
    }

    [Fact]
    [Trait("Category", "External")]
    public void Sigstore_js_verifies_our_message_signature_bundle_against_the_artifact()
    {
        var npm = SigstoreJs();
        using var dir = new TempDir();
        var art = SignedArtifact(dir, "message");
        var r = NpmCache.RunScript(npm, "verify-bundle.js", VerifyScript, art + ".sigstore.json", keys.Files.PublicKeyPath, art);
        Assert.True(r.ExitCode == 0, r.Error + r.Out);
        Assert.Equal("messageSignature", (string?)JsonNode.Parse(r.Out)!["content"]);

        // The same verifier rejects a changed artifact, so the check above was not vacuous.
        var bytes = File.ReadAllBytes(art);
        bytes[12345] ^= 0x40;
        File.WriteAllBytes(art, bytes);
        var bad = NpmCache.RunScript(npm, "verify-bundle.js", VerifyScript, art + ".sigstore.json", keys.Files.PublicKeyPath, art);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("SIGNATURE_ERROR", bad.Error);
    }

    [Fact]
    [Trait("Category", "External")]
    public void Sigstore_js_rejects_a_dsse_bundle_with_an_altered_payload_or_another_key()
    {
        var npm = SigstoreJs();
        using var dir = new TempDir();
        var art = SignedArtifact(dir, "dsse");
        var path = art + ".sigstore.json";
        var other = NpmCache.RunScript(npm, "verify-bundle.js", VerifyScript, path, keys.OtherFiles.PublicKeyPath);
        Assert.Equal(1, other.ExitCode);
        Assert.Contains("no trusted key with hint", other.Error);

        var b = JsonNode.Parse(File.ReadAllText(path))!;
        var payload = Convert.FromBase64String((string)b["dsseEnvelope"]!["payload"]!);
        payload[^3] ^= 0x01;
        b["dsseEnvelope"]!["payload"] = Convert.ToBase64String(payload);
        File.WriteAllText(path, b.ToJsonString());
        var bad = NpmCache.RunScript(npm, "verify-bundle.js", VerifyScript, path, keys.Files.PublicKeyPath);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("SIGNATURE_ERROR", bad.Error);
    }

    [Fact]
    [Trait("Category", "External")]
    public void Openssl_verifies_the_message_signature_over_the_file()
    {
        var openssl = Tools.Require("openssl");
        using var dir = new TempDir();
        var art = SignedArtifact(dir, "message");
        var b = JsonNode.Parse(File.ReadAllText(art + ".sigstore.json"))!;
        File.WriteAllBytes(dir["sig.der"], Convert.FromBase64String((string)b["messageSignature"]!["signature"]!));
        var r = ProcessRunner.Run(openssl, ["dgst", "-sha256", "-verify", keys.Files.PublicKeyPath, "-signature", dir["sig.der"], art]);
        Assert.True(r.ExitCode == 0, r.Error + r.Out);
        Assert.Contains("Verified OK", r.Out);
        var other = ProcessRunner.Run(openssl, ["dgst", "-sha256", "-verify", keys.OtherFiles.PublicKeyPath, "-signature", dir["sig.der"], art]);
        Assert.NotEqual(0, other.ExitCode);
    }

    [Fact]
    [Trait("Category", "External")]
    public void Openssl_verifies_the_dsse_signature_over_the_pae_bytes()
    {
        var openssl = Tools.Require("openssl");
        using var dir = new TempDir();
        var art = SignedArtifact(dir, "dsse");
        var env = JsonNode.Parse(File.ReadAllText(art + ".sigstore.json"))!["dsseEnvelope"]!;
        var payloadType = (string)env["payloadType"]!;
        var payload = Convert.FromBase64String((string)env["payload"]!);
        // PAE written out here from the DSSE spec, independently of the library's encoder.
        var pae = Encoding.ASCII.GetBytes($"DSSEv1 {Encoding.UTF8.GetByteCount(payloadType)} {payloadType} {payload.Length} ")
            .Concat(payload).ToArray();
        File.WriteAllBytes(dir["pae.bin"], pae);
        File.WriteAllBytes(dir["sig.der"], Convert.FromBase64String((string)env["signatures"]![0]!["sig"]!));
        var r = ProcessRunner.Run(openssl, ["dgst", "-sha256", "-verify", keys.Files.PublicKeyPath, "-signature", dir["sig.der"], dir["pae.bin"]]);
        Assert.True(r.ExitCode == 0, r.Error + r.Out);
        Assert.Contains("Verified OK", r.Out);
    }
}
