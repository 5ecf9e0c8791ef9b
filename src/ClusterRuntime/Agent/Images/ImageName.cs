// Docker reference normalization: the full name CRI looks an image up by (busybox:1 → docker.io/library/busybox:1).
using System.Text.RegularExpressions;

namespace Appliance.ClusterRuntime.Agent.Images;

/// <summary>
/// Normalizes image references as the Docker reference grammar (distribution/reference) does, so an archive saved
/// under a short name is found by CRI, which looks images up by the normalized name.
/// </summary>
public static partial class ImageName
{
    /// <summary>
    /// The normalized form of <paramref name="reference"/>:
    /// <list type="bullet">
    /// <item>no domain → <c>docker.io/</c>, and a single path component under docker.io gets <c>library/</c>;</item>
    /// <item>the first component is a domain when it holds a <c>.</c> or a <c>:</c>, or is <c>localhost</c>;</item>
    /// <item><c>index.docker.io</c> is <c>docker.io</c>; no tag and no digest → <c>:latest</c>.</item>
    /// </list>
    /// </summary>
    /// <exception cref="FormatException">Not a valid reference (the message quotes it and says why).</exception>
    public static string Normalize(string reference)
    {
        if (string.IsNullOrWhiteSpace(reference))
            throw new FormatException("image reference is empty");
        string rest = reference, digest = "";
        int at = rest.IndexOf('@');
        if (at >= 0)
        {
            digest = rest[at..];
            rest = rest[..at];
            if (!DigestPattern().IsMatch(digest[1..]))
                throw new FormatException($"image reference '{reference}': '{digest[1..]}' is not a digest (expected algorithm:hex)");
        }
        string tag = "";
        int colon = rest.LastIndexOf(':');
        if (colon > rest.LastIndexOf('/'))
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagPattern().IsMatch(tag))
                throw new FormatException($"image reference '{reference}': tag '{tag}' is not valid (letters, digits, '_', '.', '-'; at most 128)");
        }
        string domain, path;
        int slash = rest.IndexOf('/');
        var first = slash < 0 ? "" : rest[..slash];
        if (slash >= 0 && (first.Contains('.') || first.Contains(':') || first == "localhost"))
        {
            domain = first == "index.docker.io" ? "docker.io" : first;
            path = rest[(slash + 1)..];
        }
        else
        {
            domain = "docker.io";
            path = rest;
        }
        if (domain == "docker.io" && !path.Contains('/'))
            path = "library/" + path;
        if (!PathPattern().IsMatch(path))
            throw new FormatException($"image reference '{reference}': repository '{path}' is not valid (lower-case letters, digits and separators)");
        if (tag.Length == 0 && digest.Length == 0)
            tag = "latest";
        return domain + "/" + path + (tag.Length > 0 ? ":" + tag : "") + digest;
    }

    [GeneratedRegex("^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")]
    private static partial Regex PathPattern();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex("^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")]
    private static partial Regex DigestPattern();
}
