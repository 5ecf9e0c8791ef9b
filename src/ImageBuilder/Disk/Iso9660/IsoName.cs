// ECMA-119 7.5/7.6 identifiers (d-characters, "NAME.EXT;1") and the 9.3 order of directory records.
using System.Text;

namespace Appliance.ImageBuilder.Disk.Iso9660;

/// <summary>
/// An ISO 9660 identifier as level 2 allows: a file is NAME.EXT;1 with at most 30 d-characters in NAME and EXT together,
/// a directory at most 31. The real name (any bytes, up to 255) is in the Rock Ridge NM entry.
/// </summary>
internal sealed class IsoName
{
    public const int MaxFile = 30, MaxDirectory = 31;

    private IsoName(string name, string ext, bool directory)
    {
        Name = name; Ext = ext; Directory = directory;
        Bytes = Encoding.ASCII.GetBytes(directory ? name : name + "." + ext + ";1");
    }

    public string Name { get; }
    public string Ext { get; }
    public bool Directory { get; }

    /// <summary>The file identifier as recorded.</summary>
    public byte[] Bytes { get; }

    /// <summary>Names for the children of one directory, unique by NAME and EXT (ECMA-119 7.6.4 compares both for files and directories).</summary>
    public sealed class Allocator
    {
        private readonly HashSet<string> _taken = new(StringComparer.Ordinal);

        /// <summary>The ISO name of <paramref name="real"/>, mapped to d-characters, truncated, and numbered when taken.</summary>
        public IsoName Allocate(string real, bool directory)
        {
            string name, ext = "";
            if (directory) name = Map(real, MaxDirectory);
            else
            {
                int dot = real.LastIndexOf('.');
                string baseName = dot >= 0 ? real[..dot] : real, extension = dot >= 0 ? real[(dot + 1)..] : "";
                ext = Map(extension, 8);
                name = Map(baseName, MaxFile - ext.Length);
                if (name.Length == 0 && ext.Length == 0) name = "_";
            }
            int max = directory ? MaxDirectory : MaxFile - ext.Length;
            string candidate = name;
            for (int n = 1; !_taken.Add(candidate + "." + ext); n++)
            {
                string suffix = n.ToString(System.Globalization.CultureInfo.InvariantCulture);
                candidate = name[..Math.Min(name.Length, max - suffix.Length)] + suffix;
            }
            return new IsoName(candidate, ext, directory);
        }

        private static string Map(string s, int max)
        {
            var b = new StringBuilder(Math.Min(s.Length, max));
            foreach (char c in s)
            {
                if (b.Length == max) break;
                b.Append(c switch
                {
                    >= 'a' and <= 'z' => char.ToUpperInvariant(c),
                    >= 'A' and <= 'Z' or >= '0' and <= '9' or '_' => c,
                    _ => '_',
                });
            }
            return b.ToString();
        }
    }

    /// <summary>ECMA-119 9.3: by NAME, then EXT, the shorter padded with spaces (0x20); all versions are 1.</summary>
    public static readonly IComparer<IsoName> Order = Comparer<IsoName>.Create((a, b) =>
    {
        int c = Padded(a.Name, b.Name);
        return c != 0 ? c : Padded(a.Ext, b.Ext);
    });

    private static int Padded(string a, string b)
    {
        int n = Math.Max(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            char x = i < a.Length ? a[i] : ' ', y = i < b.Length ? b[i] : ' ';
            if (x != y) return x < y ? -1 : 1;
        }
        return 0;
    }
}
