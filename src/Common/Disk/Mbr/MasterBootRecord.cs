// UEFI 2.10 §5.2.1: legacy master boot record (LBA 0): disk signature, four partition records, 0x55AA.
using System.Buffers.Binary;

namespace Appliance.Common.Disk.Mbr;

/// <summary>A classic MBR partition table (used alone on the Raspberry Pi, and as the GPT protective MBR).</summary>
public sealed class MasterBootRecord
{
    /// <summary>Bytes in the record.</summary>
    public const int Size = 512;

    private static class Off
    {
        public const int BootCode = 0, DiskSignature = 440, Reserved = DiskSignature + 4, Partitions = Reserved + 2,
            BootSignature = Partitions + 4 * MbrPartition.Size;
    }

    /// <summary>Creates an MBR with up to four primary partitions.</summary>
    /// <param name="diskSignature">The 32-bit disk signature.</param>
    /// <param name="partitions">The partition records, in slot order.</param>
    /// <param name="overlapping">Partitions may overlap (a hybrid ISO image's first partition covers everything).</param>
    public MasterBootRecord(uint diskSignature, IEnumerable<MbrPartition> partitions, bool overlapping = false)
    {
        DiskSignature = diskSignature;
        Partitions = partitions.ToList();
        if (Partitions.Count > 4) throw new ArgumentException($"{Partitions.Count} partitions: an MBR holds at most 4 primary partitions");
        if (overlapping) return;
        var sorted = Partitions.OrderBy(p => p.FirstLba).ToList();
        for (int i = 1; i < sorted.Count; i++)
            if (sorted[i].FirstLba < (long)sorted[i - 1].FirstLba + sorted[i - 1].SectorCount)
                throw new ArgumentException($"MBR partitions at LBA {sorted[i - 1].FirstLba} and {sorted[i].FirstLba} overlap");
    }

    /// <summary>The 32-bit disk signature (shown by Linux as the disk identifier and PARTUUID prefix).</summary>
    public uint DiskSignature { get; }

    /// <summary>The partition records in slot order.</summary>
    public IReadOnlyList<MbrPartition> Partitions { get; }

    /// <summary>Boot code for bytes 0–439 (at most <see cref="BootCodeSize"/> bytes; the rest stays zero).</summary>
    public ReadOnlyMemory<byte> BootCode { get; init; }

    /// <summary>Bytes of boot code before the disk signature.</summary>
    public const int BootCodeSize = Off.DiskSignature;

    /// <summary>The CHS geometry of the partition records' CHS fields (heads per cylinder, sectors per track).</summary>
    public (int Heads, int SectorsPerTrack) Geometry { get; init; } = (255, 63);

    /// <summary>The protective MBR of a GPT disk (UEFI 2.10 §5.2.3).</summary>
    public static MasterBootRecord Protective(long diskSectors) =>
        new(0, [new MbrPartition(MbrPartition.GptProtective, 1, (uint)Math.Min(diskSectors - 1, uint.MaxValue))]);

    /// <summary>Writes the 512-byte record.</summary>
    public void WriteTo(Span<byte> b)
    {
        b[..Size].Clear();
        if (BootCode.Length > BootCodeSize) throw new ArgumentException($"MBR boot code of {BootCode.Length} bytes: at most {BootCodeSize} fit before the disk signature");
        BootCode.Span.CopyTo(b);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.DiskSignature..], DiskSignature);
        for (int i = 0; i < Partitions.Count; i++)
            Partitions[i].WriteTo(b.Slice(Off.Partitions + i * MbrPartition.Size, MbrPartition.Size), Geometry.Heads, Geometry.SectorsPerTrack);
        b[Off.BootSignature] = 0x55;
        b[Off.BootSignature + 1] = 0xAA;
    }

    /// <summary>Writes the record to LBA 0 of <paramref name="disk"/>.</summary>
    public void WriteTo(Stream disk)
    {
        var b = new byte[Size];
        WriteTo(b);
        disk.Position = 0;
        disk.Write(b);
    }

    /// <summary>Reads an MBR; throws <see cref="InvalidDataException"/> without the 0x55AA signature.</summary>
    public static MasterBootRecord Read(ReadOnlySpan<byte> b)
    {
        if (b[Off.BootSignature] != 0x55 || b[Off.BootSignature + 1] != 0xAA)
            throw new InvalidDataException($"MBR: boot signature at byte 510 is 0x{b[Off.BootSignature]:x2}{b[Off.BootSignature + 1]:x2} instead of 0x55aa");
        var parts = new List<MbrPartition>();
        for (int i = 0; i < 4; i++)
            if (MbrPartition.Read(b.Slice(Off.Partitions + i * MbrPartition.Size, MbrPartition.Size)) is { } p) parts.Add(p);
        return new MasterBootRecord(BinaryPrimitives.ReadUInt32LittleEndian(b[Off.DiskSignature..]), parts);
    }

    /// <summary>Reads LBA 0 of <paramref name="disk"/>.</summary>
    public static MasterBootRecord Read(Stream disk)
    {
        var b = new byte[Size];
        disk.Position = 0;
        disk.ReadExactly(b);
        return Read(b);
    }
}
