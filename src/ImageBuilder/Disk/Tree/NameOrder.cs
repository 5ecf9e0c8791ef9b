// Orders names by Unicode code point, which is the byte order of their UTF-8 form (what strcmp sees).
namespace Appliance.ImageBuilder.Disk.Tree;

/// <summary>Compares names by code point, so the order matches the UTF-8 byte order every format sorts by.</summary>
public sealed class NameOrder : IComparer<string>
{
    /// <summary>The one instance.</summary>
    public static readonly NameOrder Instance = new();

    /// <inheritdoc/>
    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        int n = Math.Min(x.Length, y.Length);
        for (int i = 0; i < n; i++)
        {
            char a = x[i], b = y[i];
            if (a == b) continue;
            // Surrogates (supplementary planes) sort above every BMP character in UTF-8.
            bool sa = char.IsSurrogate(a), sb = char.IsSurrogate(b);
            if (sa != sb) return sa ? 1 : -1;
            return a < b ? -1 : 1;
        }
        return x.Length.CompareTo(y.Length);
    }
}
