// UEFI 2.10 §5.2.1 table 5.2 (legacy MBR partition record, 16 bytes).
using System.Buffers.Binary;

namespace Appliance.Common.Disk.Mbr;

/// <summary>One of the four primary partition records of an MBR.</summary>
public sealed record MbrPartition(byte Type, uint FirstLba, uint SectorCount, bool Bootable = false)
{
    /// <summary>FAT32 with LBA addressing.</summary>
    public const byte Fat32Lba = 0x0C;
    /// <summary>Linux native.</summary>
    public const byte Linux = 0x83;
    /// <summary>Empty (a hybrid ISO image's first partition, which covers the whole image, has this type).</summary>
    public const byte Empty = 0x00;
    /// <summary>EFI system partition (FAT).</summary>
    public const byte EfiSystem = 0xEF;
    /// <summary>GPT protective.</summary>
    public const byte GptProtective = 0xEE;

    internal const int Size = 16;

    private static class Off
    {
        public const int Boot = 0, FirstChs = Boot + 1, Type = FirstChs + 3, LastChs = Type + 1, FirstLba = LastChs + 3,
            Sectors = FirstLba + 4;
    }

    internal void WriteTo(Span<byte> b, int heads = 255, int sectorsPerTrack = 63)
    {
        b[Off.Boot] = Bootable ? (byte)0x80 : (byte)0;
        Chs(FirstLba, b.Slice(Off.FirstChs, 3), heads, sectorsPerTrack);
        b[Off.Type] = Type;
        Chs(SectorCount == 0 ? 0 : FirstLba + SectorCount - 1, b.Slice(Off.LastChs, 3), heads, sectorsPerTrack);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.FirstLba..], FirstLba);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.Sectors..], SectorCount);
    }

    internal static MbrPartition? Read(ReadOnlySpan<byte> b)
    {
        byte type = b[Off.Type];
        if (type == 0) return null;
        return new MbrPartition(type, BinaryPrimitives.ReadUInt32LittleEndian(b[Off.FirstLba..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[Off.Sectors..]), b[Off.Boot] == 0x80);
    }

    /// <summary>CHS address (conventionally 255 heads and 63 sectors per track); beyond 1023 cylinders it saturates.</summary>
    private static void Chs(long lba, Span<byte> b, int heads, int spt)
    {
        long c = lba / (heads * spt);
        if (c > 1023) { b[0] = 0xFE; b[1] = 0xFF; b[2] = 0xFF; return; }
        long h = lba / spt % heads, s = lba % spt + 1;
        b[0] = (byte)h;
        b[1] = (byte)(s | ((c >> 2) & 0xC0));
        b[2] = (byte)(c & 0xFF);
    }
}
