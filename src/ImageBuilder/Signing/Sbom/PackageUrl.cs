// Package URLs (purl-spec PURL-SPECIFICATION.rst) for deb, oci and generic components.
using System.Text;

namespace Appliance.ImageBuilder.Signing.Sbom;

/// <summary>Builds purl strings with the spec's percent-encoding.</summary>
public static class PackageUrl
{
    /// <summary>
    /// <c>pkg:type/namespace/name@version?k=v&amp;...</c> in canonical form: qualifiers sorted by key, ':' never
    /// encoded, '/' encoded inside qualifier values (the purl-spec test vectors, e.g.
    /// <c>pkg:oci/debian@sha256:244f...?repository_url=docker.io%2Flibrary%2Fdebian</c>).
    /// </summary>
    public static string Create(string type, string? ns, string name, string? version,
        IEnumerable<KeyValuePair<string, string>>? qualifiers = null)
    {
        var sb = new StringBuilder("pkg:").Append(type).Append('/');
        if (!string.IsNullOrEmpty(ns))
            sb.Append(string.Join('/', ns.Split('/').Select(s => Encode(s))).ToLowerInvariant()).Append('/');
        sb.Append(Encode(name));
        if (!string.IsNullOrEmpty(version))
            sb.Append('@').Append(Encode(version));
        var q = (qualifiers ?? []).Where(kv => kv.Value.Length > 0).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        if (q.Count > 0)
            sb.Append('?').AppendJoin('&', q.Select(kv => $"{kv.Key.ToLowerInvariant()}={Encode(kv.Value)}"));
        return sb.ToString();
    }

    /// <summary>Percent-encodes UTF-8 octets other than alphanumerics, <c>.-_~</c> and the colon.</summary>
    public static string Encode(string s)
    {
        var sb = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(s))
        {
            char c = (char)b;
            if (c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '.' or '-' or '_' or '~' or ':')
                sb.Append(c);
            else
                sb.Append('%').Append(b.ToString("X2"));
        }
        return sb.ToString();
    }
}
