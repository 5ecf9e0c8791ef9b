// Microsoft FAT specification §6–7: the entries of one directory's bytes, long names joined, with where each sits.
using System.Text;

namespace Appliance.Common.Disk.Fat;

/// <summary>One live entry of a directory: its name (long when it has one), its short entry, and its slots.</summary>
/// <param name="Name">The long name, or the short name as 8.3 when there is none.</param>
/// <param name="Entry">The short entry.</param>
/// <param name="FirstOffset">Byte offset in the directory of its first slot (the first long name entry, or the short entry).</param>
/// <param name="ShortOffset">Byte offset of the short entry.</param>
internal sealed record FatDirectoryItem(string Name, ShortEntry Entry, int FirstOffset, int ShortOffset)
{
    /// <summary>Whether it is a directory.</summary>
    public bool IsDirectory => (Entry.Attributes & FatAttributes.Directory) != 0;
}

/// <summary>Reads the entries of a directory's cluster chain; shared by the image reader and firstboot's editor.</summary>
internal static class FatDirectory
{
    /// <summary>The free-slot marker (§6.1, DIR_Name[0]).</summary>
    public const byte Deleted = 0xE5;

    /// <summary>
    /// The live entries of <paramref name="data"/> (the directory's clusters), skipping deleted entries, the volume
    /// label and the dot entries; stops at the end marker. <paramref name="dirPath"/> names the directory in errors.
    /// </summary>
    public static IEnumerable<FatDirectoryItem> Parse(byte[] data, string dirPath)
    {
        var parts = new SortedDictionary<int, string>();
        int expectOrd = 0, first = -1;
        byte checksum = 0;
        for (int off = 0; off + ShortEntry.Size32 <= data.Length; off += ShortEntry.Size32)
        {
            var e = data.AsSpan(off, ShortEntry.Size32);
            if (e[0] == 0x00) yield break;
            if (e[0] == Deleted) { parts.Clear(); continue; }
            var attr = (FatAttributes)e[11];
            if ((attr & FatAttributes.LongName) == FatAttributes.LongName)
            {
                var (ord, sum, part) = LongNameEntry.Read(e);
                if ((ord & 0x40) != 0) { parts.Clear(); expectOrd = ord & 0x3F; checksum = sum; first = off; }
                else if (sum != checksum || (ord & 0x3F) != expectOrd)
                    throw new InvalidDataException($"FAT directory /{dirPath}: long name entry at byte {off} is out of sequence");
                parts[ord & 0x3F] = part;
                expectOrd = (ord & 0x3F) - 1;
                continue;
            }
            var se = ShortEntry.Read(e);
            if ((attr & FatAttributes.VolumeId) != 0 || e[0] == (byte)'.') { parts.Clear(); continue; }
            string name;
            int start = off;
            if (parts.Count > 0)
            {
                if (ShortEntry.Checksum(se.Name) != checksum || expectOrd != 0)
                    throw new InvalidDataException($"FAT directory /{dirPath}: long name before byte {off} does not match its short entry (checksum)");
                name = string.Concat(parts.Values);
                start = first;
            }
            else name = ShortName(se.Name, e[12]);
            parts.Clear();
            yield return new FatDirectoryItem(name, se, start, off);
        }
    }

    private static string ShortName(byte[] raw, byte ntRes)
    {
        var n = (byte[])raw.Clone();
        if (n[0] == 0x05) n[0] = Deleted;
        string b = Encoding.Latin1.GetString(n, 0, 8).TrimEnd(), x = Encoding.Latin1.GetString(n, 8, 3).TrimEnd();
        if ((ntRes & 0x08) != 0) b = b.ToLowerInvariant();
        if ((ntRes & 0x10) != 0) x = x.ToLowerInvariant();
        return x.Length > 0 ? b + "." + x : b;
    }
}
