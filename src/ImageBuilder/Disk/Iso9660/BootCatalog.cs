// El Torito 1.0 §2: boot catalog (validation entry, initial/default entry, section headers and entries) and the
// isolinux boot info table (mkisofs -boot-info-table).
using System.Buffers.Binary;

namespace Appliance.ImageBuilder.Disk.Iso9660;

/// <summary>One boot entry resolved against the layout.</summary>
internal sealed record PlacedBootEntry(IsoBootEntry Entry, uint Lba, long Length, ushort LoadSectors);

internal static class BootCatalog
{
    public const int EntrySize = 32;
    private const byte HeaderId = 0x01, Bootable = 0x88, MoreSections = 0x90, FinalSection = 0x91;
    private const byte NoEmulation = 0;

    /// <summary>Entries a one-block catalog holds: validation, default, then a header per section and its entries.</summary>
    public static int EntryCount(IReadOnlyList<IsoBootEntry> entries) => 2 + Sections(entries).Sum(s => 1 + s.Count);

    private static List<List<int>> Sections(IReadOnlyList<IsoBootEntry> entries)
    {
        var sections = new List<List<int>>();
        for (int i = 1; i < entries.Count; i++)
        {
            if (sections.Count == 0 || entries[sections[^1][0]].Platform != entries[i].Platform) sections.Add([]);
            sections[^1].Add(i);
        }
        return sections;
    }

    /// <summary>Writes the catalog into one 2048-byte block.</summary>
    public static void Write(Span<byte> b, IReadOnlyList<PlacedBootEntry> entries)
    {
        b.Clear();
        // §2.1 validation entry: header id, platform, id string (empty), checksum making the 16 words sum to 0, 55 AA.
        b[0] = HeaderId;
        b[1] = (byte)entries[0].Entry.Platform;
        b[30] = 0x55; b[31] = 0xAA;
        ushort sum = 0;
        for (int i = 0; i < EntrySize; i += 2) sum += BinaryPrimitives.ReadUInt16LittleEndian(b[i..]);
        BinaryPrimitives.WriteUInt16LittleEndian(b[28..], (ushort)-sum);

        WriteEntry(b[EntrySize..], entries[0]); // §2.2 initial/default entry
        int at = 2 * EntrySize;
        var sections = Sections(entries.Select(e => e.Entry).ToList());
        for (int s = 0; s < sections.Count; s++)
        {
            // §2.3 section header: more/final, platform, number of entries, id string (empty).
            b[at] = s == sections.Count - 1 ? FinalSection : MoreSections;
            b[at + 1] = (byte)entries[sections[s][0]].Entry.Platform;
            BinaryPrimitives.WriteUInt16LittleEndian(b[(at + 2)..], (ushort)sections[s].Count);
            at += EntrySize;
            foreach (int i in sections[s]) { WriteEntry(b[at..], entries[i]); at += EntrySize; } // §2.4 section entry
        }
    }

    // Boot indicator, media type (no emulation), load segment 0 (the default 0x7C0), system type 0, sector count, load RBA;
    // the section entry's selection criteria stay 0.
    private static void WriteEntry(Span<byte> e, PlacedBootEntry p)
    {
        e[0] = Bootable;
        e[1] = NoEmulation;
        BinaryPrimitives.WriteUInt16LittleEndian(e[6..], p.LoadSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(e[8..], p.Lba);
    }

    /// <summary>The boot info table's offset in the image and its size (mkisofs -boot-info-table: PVD LBA, file LBA, length, checksum, 40 zero bytes).</summary>
    public const int InfoTableOffset = 8, InfoTableSize = 56, ChecksumStart = 64;

    /// <summary>The table: the PVD's block, the image's block and length, and the 32-bit sum of the image's words from byte 64.</summary>
    public static byte[] InfoTable(uint pvdLba, uint fileLba, uint length, uint checksum)
    {
        var t = new byte[InfoTableSize];
        BinaryPrimitives.WriteUInt32LittleEndian(t, pvdLba);
        BinaryPrimitives.WriteUInt32LittleEndian(t.AsSpan(4), fileLba);
        BinaryPrimitives.WriteUInt32LittleEndian(t.AsSpan(8), length);
        BinaryPrimitives.WriteUInt32LittleEndian(t.AsSpan(12), checksum);
        return t;
    }

    /// <summary>Adds the little-endian 32-bit words of <paramref name="data"/> (a multiple of 4 bytes, or the file's zero-padded tail).</summary>
    public static uint Sum(ReadOnlySpan<byte> data, uint sum)
    {
        int i = 0;
        for (; i + 4 <= data.Length; i += 4) sum += BinaryPrimitives.ReadUInt32LittleEndian(data[i..]);
        if (i < data.Length)
        {
            Span<byte> tail = stackalloc byte[4];
            tail.Clear();
            data[i..].CopyTo(tail);
            sum += BinaryPrimitives.ReadUInt32LittleEndian(tail);
        }
        return sum;
    }
}
