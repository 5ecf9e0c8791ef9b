// A preloaded container image named by reference and pinned by manifest digest ("name[:tag]@sha256:hex").
namespace Appliance.ImageBuilder.Signing.Sbom;

/// <summary>A container image reference with its digest.</summary>
/// <param name="Repository">The repository, e.g. <c>docker.io/library/nginx</c>.</param>
/// <param name="Tag">The tag, when one was given.</param>
/// <param name="Sha256">The manifest digest, lower-case hex.</param>
public sealed record ContainerImage(string Repository, string? Tag, string Sha256)
{
    /// <summary>The reference as written: <c>repository[:tag]</c>.</summary>
    public string Reference => Tag == null ? Repository : $"{Repository}:{Tag}";

    /// <summary>
    /// Parses <c>name[:tag]@sha256:&lt;64 hex&gt;</c>. Throws <see cref="InvalidDataException"/> saying what is wrong.
    /// </summary>
    public static ContainerImage Parse(string text)
    {
        var at = text.LastIndexOf('@');
        if (at <= 0)
            throw new InvalidDataException($"image '{text}': expected NAME@sha256:DIGEST (an image is listed by digest)");
        var name = text[..at];
        var digest = text[(at + 1)..];
        if (!digest.StartsWith("sha256:", StringComparison.Ordinal))
            throw new InvalidDataException($"image '{text}': digest '{digest}' is not sha256:<64 hex digits>");
        var hex = digest["sha256:".Length..];
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
            throw new InvalidDataException($"image '{text}': digest '{digest}' is not sha256:<64 hex digits>");
        string? tag = null;
        var lastSlash = name.LastIndexOf('/');
        var colon = name.LastIndexOf(':');
        if (colon > lastSlash)
        {
            tag = name[(colon + 1)..];
            name = name[..colon];
        }
        if (name.Length == 0 || tag is "")
            throw new InvalidDataException($"image '{text}': empty name or tag");
        return new ContainerImage(name, tag, hex.ToLowerInvariant());
    }

    /// <summary>
    /// The purl: <c>pkg:oci/&lt;last path segment&gt;@sha256:&lt;hex&gt;</c> with <c>repository_url</c> (and <c>tag</c>)
    /// qualifiers, per the purl-spec oci type.
    /// </summary>
    public string ToPurl()
    {
        var last = Repository[(Repository.LastIndexOf('/') + 1)..].ToLowerInvariant();
        var q = new List<KeyValuePair<string, string>>();
        if (Repository.Contains('/'))
            q.Add(new("repository_url", Repository.ToLowerInvariant()));
        if (Tag != null)
            q.Add(new("tag", Tag));
        return PackageUrl.Create("oci", null, last, "sha256:" + Sha256, q);
    }
}
