// A size in bytes written the way people write disk sizes: "8GiB", "512MiB", "16GB", or plain bytes.
using System.Globalization;
using System.Text.RegularExpressions;

namespace Appliance.ImageBuilder.Profiles.Model;

/// <summary>A whole number of bytes. Parses IEC (KiB..TiB) and SI (KB..TB) suffixes.</summary>
public readonly partial record struct ByteSize(long Bytes)
{
    private static readonly (string Suffix, long Factor)[] Units =
    [
        ("TiB", 1L << 40), ("GiB", 1L << 30), ("MiB", 1L << 20), ("KiB", 1L << 10),
        ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000), ("B", 1),
    ];

    [GeneratedRegex(@"^(?<n>[0-9]+)\s*(?<u>[A-Za-z]*)$")]
    private static partial Regex Pattern();

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says why.</summary>
    public static bool TryParse(string text, out ByteSize size, out string? error)
    {
        size = default;
        error = null;
        var m = Pattern().Match(text.Trim());
        if (!m.Success)
        {
            error = $"'{text}' is not a size; write a whole number with a unit, such as '8GiB' or '512MiB'";
            return false;
        }
        var unit = m.Groups["u"].Value;
        long factor = 1;
        if (unit.Length > 0)
        {
            var found = Array.Find(Units, u => u.Suffix == unit);
            if (found.Suffix is null)
            {
                error = $"'{text}' has an unknown unit '{unit}'; use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB";
                return false;
            }
            factor = found.Factor;
        }
        if (!long.TryParse(m.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            || n > long.MaxValue / factor)
        {
            error = $"'{text}' is too large";
            return false;
        }
        size = new ByteSize(n * factor);
        return true;
    }

    /// <summary>The shortest exact IEC spelling, for example "8GiB"; plain bytes otherwise.</summary>
    public override string ToString()
    {
        foreach (var (suffix, factor) in Units)
            if (suffix.EndsWith("iB", StringComparison.Ordinal) && Bytes != 0 && Bytes % factor == 0)
                return (Bytes / factor).ToString(CultureInfo.InvariantCulture) + suffix;
        return Bytes.ToString(CultureInfo.InvariantCulture) + "B";
    }
}
