// Image references: name[:tag][@digest] or a bare digest, normalised as Docker does (docker.io/library/busybox:latest).
using System.Text.RegularExpressions;

namespace Appliance.ImageBuilder.Oci;

/// <summary>A parsed image reference. Either <see cref="Name"/> or <see cref="Digest"/> is set.</summary>
public sealed partial record ImageReference
{
    /// <summary>Normalised repository name with its registry, e.g. docker.io/library/busybox; null for a bare digest.</summary>
    public string? Name { get; init; }
    /// <summary>Tag; null when the reference gives only a digest.</summary>
    public string? Tag { get; init; }
    /// <summary>Digest, when given.</summary>
    public Digest? Digest { get; init; }

    /// <summary>"name:tag", "name@digest", "name:tag@digest" or "sha256:...".</summary>
    public override string ToString() =>
        (Name ?? "") + (Tag != null ? ":" + Tag : "") + (Digest is { } d ? (Name != null ? "@" : "") + d : "");

    /// <summary>"name:tag" when both are set.</summary>
    public string? NameAndTag => Name != null && Tag != null ? Name + ":" + Tag : null;

    [GeneratedRegex("^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")]
    private static partial Regex PathRegex();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagRegex();

    [GeneratedRegex("^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?$")]
    private static partial Regex DomainRegex();

    /// <summary>Parses and normalises; <paramref name="defaultTag"/> is used when neither tag nor digest is given.</summary>
    public static ImageReference Parse(string text, string? defaultTag = "latest")
    {
        if (!TryParse(text, out var r, out var why, defaultTag))
            throw new FormatException($"'{text}' is not a valid image reference: {why}");
        return r!;
    }

    /// <summary>Tries to parse and normalise a reference.</summary>
    public static bool TryParse(string text, out ImageReference? reference, out string why, string? defaultTag = "latest")
    {
        reference = null;
        why = "";
        if (string.IsNullOrWhiteSpace(text)) { why = "it is empty"; return false; }
        if (text.StartsWith("sha256:", StringComparison.Ordinal))
        {
            if (!Oci.Digest.TryParse(text, out var bare)) { why = "the digest is not sha256: and 64 lowercase hex digits"; return false; }
            reference = new ImageReference { Digest = bare };
            return true;
        }
        string rest = text;
        Digest? digest = null;
        var at = rest.IndexOf('@');
        if (at >= 0)
        {
            if (!Oci.Digest.TryParse(rest[(at + 1)..], out var d)) { why = "the digest is not sha256: and 64 lowercase hex digits"; return false; }
            digest = d;
            rest = rest[..at];
        }
        string? tag = null;
        var colon = rest.LastIndexOf(':');
        if (colon > rest.LastIndexOf('/'))
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagRegex().IsMatch(tag)) { why = $"tag '{tag}' is not valid"; return false; }
        }
        string domain, path;
        var slash = rest.IndexOf('/');
        var first = slash < 0 ? "" : rest[..slash];
        if (slash >= 0 && (first.Contains('.') || first.Contains(':') || first == "localhost" || first.Any(char.IsUpper)))
        {
            domain = first;
            path = rest[(slash + 1)..];
        }
        else
        {
            domain = "docker.io";
            path = rest;
        }
        if (domain == "index.docker.io") domain = "docker.io";
        if (domain == "docker.io" && !path.Contains('/')) path = "library/" + path;
        if (!DomainRegex().IsMatch(domain)) { why = $"registry '{domain}' is not valid"; return false; }
        if (!PathRegex().IsMatch(path)) { why = $"repository '{path}' is not valid (lowercase letters, digits and separators)"; return false; }
        if (domain.Length + 1 + path.Length > 255) { why = "the name is longer than 255 characters"; return false; }
        if (tag == null && digest == null) tag = defaultTag;
        reference = new ImageReference { Name = domain + "/" + path, Tag = tag, Digest = digest };
        return true;
    }
}
