// Signs a file into a Sigstore bundle beside it: the entry point `appliance sign` and `appliance build` call.
using Appliance.ImageBuilder.Signing.Bundle;
using Appliance.ImageBuilder.Signing.Dsse;
using Appliance.ImageBuilder.Signing.InToto;
using Appliance.ImageBuilder.Signing.Io;
using Appliance.ImageBuilder.Signing.Keys;

namespace Appliance.ImageBuilder.Signing;

/// <summary>What a bundle's content is.</summary>
public enum BundleFormat
{
    /// <summary>A DSSE envelope over an in-toto Statement v1 whose predicate is the build provenance.</summary>
    Dsse,
    /// <summary>A bare signature over the file's bytes (<c>messageSignature</c>); carries no provenance.</summary>
    Message,
}

/// <summary>Creates bundles.</summary>
public static class Signer
{
    /// <summary>
    /// Signs the file at <paramref name="path"/> and writes the bundle (by default <c>path + ".sigstore.json"</c>)
    /// through a temporary file and a rename. Returns the bundle's path.
    /// </summary>
    public static string SignFile(string path, SigningKey key, Provenance provenance,
        BundleFormat format = BundleFormat.Dsse, string? bundlePath = null)
    {
        var bundle = CreateBundle(path, key, provenance, format);
        bundlePath ??= SigstoreBundle.PathFor(path);
        AtomicFile.Write(bundlePath, BundleJson.Write(bundle));
        return bundlePath;
    }

    /// <summary>Signs the file at <paramref name="path"/> and returns the bundle without writing it.</summary>
    public static SigstoreBundle CreateBundle(string path, SigningKey key, Provenance provenance, BundleFormat format)
        => CreateBundle(Path.GetFileName(path), FileSha256.Hash(path), key, provenance, format);

    /// <summary>
    /// The bundle for a file named <paramref name="subjectName"/> whose SHA-256 is already known (a writer that hashed
    /// the file as it wrote it), so the file is not read again.
    /// </summary>
    public static SigstoreBundle CreateBundle(string subjectName, byte[] sha256, SigningKey key, Provenance provenance, BundleFormat format)
    {
        provenance.Validate();
        BundleContent content = format switch
        {
            BundleFormat.Dsse => new DsseContent(DsseEnvelope.Sign(DsseEnvelope.InTotoPayloadType,
                Statement.Write(new StatementSubject(subjectName, Json.Hex(sha256)), provenance), key)),
            BundleFormat.Message => new MessageSignatureContent(sha256, key.SignHash(sha256)),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };
        return new SigstoreBundle(SigstoreBundle.MediaTypeV03, key.Id, content);
    }
}
