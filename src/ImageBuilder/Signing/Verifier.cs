// Offline verification of a file against a key-signed bundle: mediaType, key id, signature, subject digest.
using System.Security.Cryptography;
using Appliance.ImageBuilder.Signing.Bundle;
using Appliance.ImageBuilder.Signing.Dsse;
using Appliance.ImageBuilder.Signing.InToto;
using Appliance.ImageBuilder.Signing.Io;
using Appliance.ImageBuilder.Signing.Keys;

namespace Appliance.ImageBuilder.Signing;

/// <summary>Verifies bundles with a public key and no network.</summary>
public static class Verifier
{
    /// <summary>
    /// Verifies <paramref name="artifactPath"/> against its bundle (by default <c>artifactPath + ".sigstore.json"</c>).
    /// A verification that does not hold is returned as a result with one reason; unreadable or malformed
    /// input throws (<see cref="FileNotFoundException"/>, <see cref="InvalidDataException"/>).
    /// </summary>
    public static Verification VerifyFile(string artifactPath, VerificationKey key, string? bundlePath = null)
    {
        bundlePath ??= SigstoreBundle.PathFor(artifactPath);
        var fileSha = FileSha256.Hash(artifactPath);
        if (Directory.Exists(bundlePath))
            throw new InvalidDataException($"{bundlePath}: is a directory; expected a bundle file");
        if (!File.Exists(bundlePath))
            throw new FileNotFoundException($"{bundlePath}: bundle not found (sign the file first, or pass --bundle)", bundlePath);
        return Verify(artifactPath, fileSha, File.ReadAllBytes(bundlePath), bundlePath, key);
    }

    /// <summary>
    /// Verifies against whichever of <paramref name="trusted"/> the bundle's hint names (key rotation on a device
    /// that trusts several keys). A hint naming none of them fails with <see cref="VerificationFailure.KeyMismatch"/>.
    /// </summary>
    public static Verification VerifyFile(string artifactPath, IReadOnlyList<VerificationKey> trusted, string? bundlePath = null)
    {
        if (trusted.Count == 0)
            throw new ArgumentException("at least one trusted key is needed", nameof(trusted));
        bundlePath ??= SigstoreBundle.PathFor(artifactPath);
        var fileSha = FileSha256.Hash(artifactPath);
        if (!File.Exists(bundlePath))
            throw new FileNotFoundException($"{bundlePath}: bundle not found", bundlePath);
        var json = File.ReadAllBytes(bundlePath);
        string hint;
        try
        {
            hint = BundleJson.Read(json, bundlePath).KeyHint;
        }
        catch (UnsupportedBundleException)
        {
            return Verify(artifactPath, fileSha, json, bundlePath, trusted[0]);
        }
        var key = trusted.FirstOrDefault(k => k.Id == hint);
        if (key == null)
            return new Verification(artifactPath, Json.Hex(fileSha), "", null, VerificationFailure.KeyMismatch,
                $"the bundle was signed by key {hint}, which is not one of the {trusted.Count} trusted keys", null);
        return Verify(artifactPath, fileSha, json, bundlePath, key);
    }

    /// <summary>Verifies a file's digest against bundle bytes; <paramref name="bundleSource"/> names the bundle in errors.</summary>
    public static Verification Verify(string artifactPath, byte[] fileSha256, byte[] bundleJson, string bundleSource, VerificationKey key)
    {
        var hex = Json.Hex(fileSha256);
        Verification Fail(BundleFormat? f, VerificationFailure kind, string reason) =>
            new(artifactPath, hex, key.Id, f, kind, reason, null);

        SigstoreBundle bundle;
        try
        {
            bundle = BundleJson.Read(bundleJson, bundleSource);
        }
        catch (UnsupportedBundleException e)
        {
            return Fail(null, VerificationFailure.MediaType, e.Message);
        }
        var format = bundle.Content is DsseContent ? BundleFormat.Dsse : BundleFormat.Message;
        if (bundle.KeyHint.Length == 0)
            return Fail(format, VerificationFailure.KeyMismatch,
                $"the bundle names no key (verificationMaterial.publicKey.hint is empty); the given key is {key.Id}");
        if (bundle.KeyHint != key.Id)
            return Fail(format, VerificationFailure.KeyMismatch,
                $"the bundle was signed by key {bundle.KeyHint}, not by the given key {key.Id}");

        switch (bundle.Content)
        {
            case DsseContent { Envelope: var env }:
                if (env.Signatures.Count != 1)
                    return Fail(format, VerificationFailure.Signature,
                        $"dsseEnvelope.signatures has {env.Signatures.Count} entries; expected exactly 1");
                var sig = env.Signatures[0];
                if (sig.KeyId.Length > 0 && sig.KeyId != key.Id)
                    return Fail(format, VerificationFailure.KeyMismatch,
                        $"dsseEnvelope.signatures[0].keyid is {sig.KeyId}, not the given key {key.Id}");
                if (env.PayloadType != DsseEnvelope.InTotoPayloadType)
                    return Fail(format, VerificationFailure.Payload,
                        $"dsseEnvelope.payloadType is '{env.PayloadType}', expected '{DsseEnvelope.InTotoPayloadType}'");
                if (!VerifyOrFalse(() => key.VerifyData(env.PreAuthEncoding(), sig.Sig)))
                    return Fail(format, VerificationFailure.Signature,
                        $"the DSSE signature does not verify with key {key.Id}: the payload or the signature was altered");
                Statement statement;
                try
                {
                    statement = Statement.Parse(env.Payload);
                }
                catch (InvalidDataException e)
                {
                    return Fail(format, VerificationFailure.Payload, e.Message);
                }
                var match = statement.Subjects.FirstOrDefault(s => s.Sha256 == hex);
                if (match == null)
                {
                    var signed = string.Join(", ", statement.Subjects.Select(s => $"'{s.Name}' sha256:{s.Sha256}"));
                    return Fail(format, VerificationFailure.Digest,
                        $"{artifactPath}: sha256:{hex} does not match the signed subject {signed}: the file was altered");
                }
                return new Verification(artifactPath, hex, key.Id, format, null, null, statement);

            case MessageSignatureContent m:
                if (!CryptographicOperations.FixedTimeEquals(m.Sha256, fileSha256))
                    return Fail(format, VerificationFailure.Digest,
                        $"{artifactPath}: sha256:{hex} does not match the signed digest sha256:{Json.Hex(m.Sha256)}: the file was altered");
                if (!VerifyOrFalse(() => key.VerifyHash(fileSha256, m.Signature)))
                    return Fail(format, VerificationFailure.Signature,
                        $"the message signature does not verify with key {key.Id}: the signature was altered");
                return new Verification(artifactPath, hex, key.Id, format, null, null, null);

            default:
                throw new InvalidDataException($"{bundleSource}: bundle has no content");
        }
    }

    // A signature that is not valid DER is as wrong as one that does not verify.
    private static bool VerifyOrFalse(Func<bool> verify)
    {
        try
        {
            return verify();
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
