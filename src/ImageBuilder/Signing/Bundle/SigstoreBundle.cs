// A Sigstore bundle v0.3 with a public-key hint (sigstore protobuf-specs bundle.proto, JSON field names).
using Appliance.ImageBuilder.Signing.Dsse;

namespace Appliance.ImageBuilder.Signing.Bundle;

/// <summary>What a bundle signs: a DSSE envelope or a bare message signature.</summary>
public abstract record BundleContent;

/// <summary>Content <c>dsseEnvelope</c>: a signed in-toto statement.</summary>
public sealed record DsseContent(DsseEnvelope Envelope) : BundleContent;

/// <summary>Content <c>messageSignature</c>: a signature over the artifact's bytes, with its SHA-256.</summary>
public sealed record MessageSignatureContent(byte[] Sha256, byte[] Signature) : BundleContent;

/// <summary>
/// A key-signed bundle: <c>verificationMaterial.publicKey.hint</c> names the key, <c>tlogEntries</c> is empty
/// (no transparency log exists inside the air gap), and the content is DSSE or a message signature.
/// </summary>
public sealed record SigstoreBundle(string MediaType, string KeyHint, BundleContent Content)
{
    /// <summary>The media type we write.</summary>
    public const string MediaTypeV03 = "application/vnd.dev.sigstore.bundle.v0.3+json";

    /// <summary>The older spelling of the same v0.3 format, which we also accept.</summary>
    public const string MediaTypeV03Legacy = "application/vnd.dev.sigstore.bundle+json;version=0.3";

    /// <summary>The file name a bundle for <paramref name="artifactPath"/> gets.</summary>
    public static string PathFor(string artifactPath) => artifactPath + ".sigstore.json";

    /// <summary>True when <paramref name="mediaType"/> is a v0.3 bundle.</summary>
    public static bool IsSupported(string mediaType) => mediaType is MediaTypeV03 or MediaTypeV03Legacy;
}
