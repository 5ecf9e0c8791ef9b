// The outcome of verifying a file against a bundle: what was verified, or the one reason it was not.
using Appliance.ImageBuilder.Signing.InToto;

namespace Appliance.ImageBuilder.Signing;

/// <summary>Why a verification failed.</summary>
public enum VerificationFailure
{
    /// <summary>The bundle's mediaType is not a v0.3 bundle.</summary>
    MediaType,
    /// <summary>The bundle names another key than the one given.</summary>
    KeyMismatch,
    /// <summary>The signature does not verify with the given key.</summary>
    Signature,
    /// <summary>The file's SHA-256 is not the signed one.</summary>
    Digest,
    /// <summary>The DSSE payload is not an in-toto statement.</summary>
    Payload,
}

/// <summary>The result of <c>Verifier.VerifyFile</c> and <see cref="Verifier.Verify"/>.</summary>
/// <param name="ArtifactPath">The file checked.</param>
/// <param name="Sha256">Its SHA-256 (lower-case hex).</param>
/// <param name="KeyId">The id of the key the bundle was checked with.</param>
/// <param name="Format">The bundle's content form, when it was read.</param>
/// <param name="Failure">Null when verified; else the kind of failure.</param>
/// <param name="Reason">One line: why verification failed, or null.</param>
/// <param name="Statement">The signed statement (DSSE form only).</param>
public sealed record Verification(
    string ArtifactPath, string Sha256, string KeyId, BundleFormat? Format,
    VerificationFailure? Failure, string? Reason, Statement? Statement)
{
    /// <summary>True when everything checked held.</summary>
    public bool Verified => Failure == null;
}
