// Turns a key prefix into the half-open range [start, end) that both SQL backends scan.
namespace Appliance.ClusterRuntime.Datastore;

/// <summary>Key-range arithmetic shared by the backends (keys compare as ordinal strings, like bytes in SQL).</summary>
internal static class KeyRange
{
    /// <summary>The smallest string that sorts after every string starting with <paramref name="prefix"/>; null when there is none (empty prefix).</summary>
    public static string? PrefixEnd(string prefix)
    {
        var chars = prefix.ToCharArray();
        for (var i = chars.Length - 1; i >= 0; i--)
        {
            // Stay below the surrogate range so the bound is valid UTF-8 when bound as an SQL parameter.
            if (chars[i] < '\uD7FF')
            {
                chars[i]++;
                return new string(chars, 0, i + 1);
            }
        }
        return null;
    }

    /// <summary>The first key of a list: <paramref name="startKey"/> when it sorts after the prefix, else the prefix.</summary>
    public static string Start(string prefix, string startKey) =>
        string.CompareOrdinal(startKey, prefix) > 0 ? startKey : prefix;

    /// <summary>True when <paramref name="key"/> lies under <paramref name="prefix"/>.</summary>
    public static bool Matches(string key, string prefix) => key.StartsWith(prefix, StringComparison.Ordinal);
}
