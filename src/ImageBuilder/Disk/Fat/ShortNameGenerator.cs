// Microsoft FAT specification §7.4: deterministic 8.3 short names (basis name plus ~N tail) unique within a directory.
using System.Text;

namespace Appliance.ImageBuilder.Disk.Fat;

/// <summary>Generates the short names of one directory.</summary>
internal sealed class ShortNameGenerator
{
    private const string Allowed = "$%'-_@~`!(){}^#&";
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _nextTail = new(StringComparer.Ordinal);

    /// <summary>Reserves a name already present (the volume label does not count).</summary>
    public void Reserve(string elevenChars) => _used.Add(elevenChars);

    /// <summary>
    /// Returns the 11-byte short name for <paramref name="longName"/> and whether a long name entry is needed
    /// (it is not when the name already is a valid upper-case 8.3 name).
    /// </summary>
    public (byte[] Name, bool NeedsLongName) Generate(string longName)
    {
        if (IsExactShortName(longName, out var exact) && _used.Add(exact))
            return (Encoding.ASCII.GetBytes(exact), false);

        string upper = longName.ToUpperInvariant();
        bool lossy = false;
        string stripped = upper.Replace(" ", "").TrimStart('.');
        if (stripped.Length != upper.Length) lossy = true;
        int dot = stripped.LastIndexOf('.');
        string basePart = dot >= 0 ? stripped[..dot] : stripped;
        string ext = dot >= 0 ? stripped[(dot + 1)..] : "";
        var b = Map(basePart.Replace(".", ""), ref lossy);
        if (basePart.Contains('.')) lossy = true;
        var e = Map(ext, ref lossy);
        if (b.Length > 8) { b = b[..8]; lossy = true; }
        if (e.Length > 3) { e = e[..3]; lossy = true; }
        if (b.Length == 0) { b = "_"; lossy = true; }
        string candidate = b.PadRight(8) + e.PadRight(3);
        if (!lossy && _used.Add(candidate)) return (Encoding.ASCII.GetBytes(candidate), true);

        string key = b + "." + e;
        int n = _nextTail.GetValueOrDefault(key, 1);
        while (true)
        {
            string tail = "~" + n;
            if (tail.Length > 7) throw new InvalidDataException($"FAT: cannot find a free short name for '{longName}'");
            string basis = b[..Math.Min(b.Length, 8 - tail.Length)] + tail;
            candidate = basis.PadRight(8) + e.PadRight(3);
            n++;
            if (_used.Add(candidate)) { _nextTail[key] = n; return (Encoding.ASCII.GetBytes(candidate), true); }
        }
    }

    private static string Map(string s, ref bool lossy)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            if (c is >= 'A' and <= 'Z' or >= '0' and <= '9' || Allowed.Contains(c)) sb.Append(c);
            else { sb.Append('_'); lossy = true; }
        }
        return sb.ToString();
    }

    private static bool IsExactShortName(string name, out string eleven)
    {
        eleven = "";
        int dot = name.IndexOf('.');
        string b = dot >= 0 ? name[..dot] : name, e = dot >= 0 ? name[(dot + 1)..] : "";
        if (b.Length is 0 or > 8 || e.Length > 3 || e.Contains('.') || (dot >= 0 && e.Length == 0)) return false;
        foreach (var c in b + e)
            if (!(c is >= 'A' and <= 'Z' or >= '0' and <= '9' || Allowed.Contains(c))) return false;
        eleven = b.PadRight(8) + e.PadRight(3);
        return true;
    }

    /// <summary>The characters a long name may not hold (§7.1, plus control characters).</summary>
    public static string? IllegalReason(string name)
    {
        if (name.Length > 255) return $"is {name.Length} UTF-16 units long (FAT allows 255)";
        foreach (var c in name)
        {
            if (c < 0x20) return $"contains the control character 0x{(int)c:x2}";
            if ("\"*/:<>?\\|".Contains(c)) return $"contains '{c}', which FAT does not allow";
        }
        if (name.EndsWith('.') || name.EndsWith(' ')) return "ends with a dot or a space, which FAT drops";
        return null;
    }
}
