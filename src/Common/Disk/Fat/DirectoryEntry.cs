// Microsoft FAT specification §6 (32-byte short directory entry) and §7 (long name entries and their checksum).
using System.Buffers.Binary;

namespace Appliance.Common.Disk.Fat;

[Flags]
internal enum FatAttributes : byte
{
    ReadOnly = 0x01, Hidden = 0x02, System = 0x04, VolumeId = 0x08, Directory = 0x10, Archive = 0x20, LongName = 0x0F,
}

internal sealed record ShortEntry(byte[] Name, FatAttributes Attributes, uint Cluster, uint Size, ushort Date, ushort Time)
{
    public const int Size32 = 32;

    private static class Off
    {
        public const int Name = 0, Attr = Name + 11, NtRes = Attr + 1, CrtTimeTenth = NtRes + 1, CrtTime = CrtTimeTenth + 1,
            CrtDate = CrtTime + 2, LstAccDate = CrtDate + 2, FstClusHi = LstAccDate + 2, WrtTime = FstClusHi + 2,
            WrtDate = WrtTime + 2, FstClusLo = WrtDate + 2, FileSize = FstClusLo + 2;
    }

    public void WriteTo(Span<byte> b)
    {
        b[..Size32].Clear();
        Name.CopyTo(b);
        b[Off.Attr] = (byte)Attributes;
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.CrtTime..], Time);
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.CrtDate..], Date);
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.LstAccDate..], Date);
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.FstClusHi..], (ushort)(Cluster >> 16));
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.WrtTime..], Time);
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.WrtDate..], Date);
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.FstClusLo..], (ushort)Cluster);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.FileSize..], Size);
    }

    public static ShortEntry Read(ReadOnlySpan<byte> b) => new(
        b[..11].ToArray(), (FatAttributes)b[Off.Attr],
        ((uint)BinaryPrimitives.ReadUInt16LittleEndian(b[Off.FstClusHi..]) << 16) | BinaryPrimitives.ReadUInt16LittleEndian(b[Off.FstClusLo..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[Off.FileSize..]),
        BinaryPrimitives.ReadUInt16LittleEndian(b[Off.WrtDate..]), BinaryPrimitives.ReadUInt16LittleEndian(b[Off.WrtTime..]));

    /// <summary>The §7.2 checksum of an 11-byte short name, stored in every long name entry.</summary>
    public static byte Checksum(ReadOnlySpan<byte> name)
    {
        byte sum = 0;
        for (int i = 0; i < 11; i++) sum = (byte)(((sum & 1) != 0 ? 0x80 : 0) + (sum >> 1) + name[i]);
        return sum;
    }

    /// <summary>FAT date and time (§6.2, 2-second resolution, years 1980–2107) of a Unix time, in UTC.</summary>
    public static (ushort Date, ushort Time) Timestamp(long unixSeconds)
    {
        var min = new DateTime(1980, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var max = new DateTime(2107, 12, 31, 23, 59, 58, DateTimeKind.Utc);
        var t = DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(unixSeconds, -62135596800L, 253402300799L)).UtcDateTime;
        if (t < min) t = min;
        if (t > max) t = max;
        return ((ushort)(((t.Year - 1980) << 9) | (t.Month << 5) | t.Day), (ushort)((t.Hour << 11) | (t.Minute << 5) | (t.Second / 2)));
    }
}

internal static class LongNameEntry
{
    public const int CharsPerEntry = 13;
    private static readonly int[] CharOffsets = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];

    private static class Off
    {
        public const int Ord = 0, Attr = 11, Type = 12, Checksum = 13, FstClusLo = 26;
    }

    /// <summary>Writes the entries for <paramref name="name"/> in on-disk order (last part first).</summary>
    public static int Write(string name, byte checksum, Span<byte> dst)
    {
        int count = (name.Length + CharsPerEntry - 1) / CharsPerEntry;
        for (int k = 0; k < count; k++)
        {
            int seq = count - k; // on disk the highest sequence number comes first
            var e = dst.Slice(k * ShortEntry.Size32, ShortEntry.Size32);
            e.Clear();
            e[Off.Ord] = (byte)(seq | (k == 0 ? 0x40 : 0));
            e[Off.Attr] = (byte)FatAttributes.LongName;
            e[Off.Checksum] = checksum;
            for (int c = 0; c < CharsPerEntry; c++)
            {
                int idx = (seq - 1) * CharsPerEntry + c;
                ushort ch = idx < name.Length ? name[idx] : idx == name.Length ? (ushort)0 : (ushort)0xFFFF;
                BinaryPrimitives.WriteUInt16LittleEndian(e[CharOffsets[c]..], ch);
            }
        }
        return count;
    }

    /// <summary>Reads the 13 characters of one entry (stopping at the terminator), its sequence byte and checksum.</summary>
    public static (int Ord, byte Checksum, string Part) Read(ReadOnlySpan<byte> e)
    {
        var chars = new char[CharsPerEntry];
        int n = 0;
        foreach (var o in CharOffsets)
        {
            ushort ch = BinaryPrimitives.ReadUInt16LittleEndian(e[o..]);
            if (ch == 0) break;
            chars[n++] = (char)ch;
        }
        return (e[Off.Ord], e[Off.Checksum], new string(chars, 0, n));
    }
}
