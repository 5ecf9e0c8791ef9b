// Microsoft FAT specification §3 (BPB) and §3.3 (FAT32 extended BPB): the FAT32 boot sector.
using System.Buffers.Binary;
using System.Text;

namespace Appliance.Common.Disk.Fat;

internal sealed record BootSector
{
    public const int SectorSize = 512;

    private static class Off
    {
        public const int Jump = 0, Oem = Jump + 3, BytesPerSector = Oem + 8, SectorsPerCluster = BytesPerSector + 2,
            ReservedSectors = SectorsPerCluster + 1, NumFats = ReservedSectors + 2, RootEntries = NumFats + 1,
            TotalSectors16 = RootEntries + 2, Media = TotalSectors16 + 2, FatSize16 = Media + 1, SectorsPerTrack = FatSize16 + 2,
            Heads = SectorsPerTrack + 2, HiddenSectors = Heads + 2, TotalSectors32 = HiddenSectors + 4,
            FatSize32 = TotalSectors32 + 4, ExtFlags = FatSize32 + 4, FsVersion = ExtFlags + 2, RootCluster = FsVersion + 2,
            FsInfo = RootCluster + 4, BackupBoot = FsInfo + 2, Reserved = BackupBoot + 2, DriveNumber = Reserved + 12,
            Reserved1 = DriveNumber + 1, BootSig = Reserved1 + 1, VolumeId = BootSig + 1, VolumeLabel = VolumeId + 4,
            FsType = VolumeLabel + 11, Signature = 510;
    }

    public byte SectorsPerCluster { get; init; }
    public ushort ReservedSectors { get; init; } = 32;
    public byte NumFats { get; init; } = 2;
    public byte Media { get; init; } = 0xF8;
    public uint HiddenSectors { get; init; }
    public uint TotalSectors { get; init; }
    public uint FatSize { get; init; }
    public uint RootCluster { get; init; } = 2;
    public ushort FsInfoSector { get; init; } = 1;
    public ushort BackupBootSector { get; init; } = 6;
    public uint VolumeId { get; init; }
    public string VolumeLabel { get; init; } = "NO NAME";

    public long FirstDataSector => ReservedSectors + (long)NumFats * FatSize;
    public long ClusterCount => (TotalSectors - FirstDataSector) / SectorsPerCluster;
    public int ClusterBytes => SectorsPerCluster * SectorSize;
    /// <summary>Byte offset in the volume of data cluster <paramref name="cluster"/> (the first is 2).</summary>
    public long ClusterOffset(uint cluster) => FirstDataSector * SectorSize + (long)(cluster - 2) * ClusterBytes;

    public void WriteTo(Span<byte> b)
    {
        b[..SectorSize].Clear();
        b[0] = 0xEB; b[1] = 0x58; b[2] = 0x90;
        Encoding.ASCII.GetBytes("MSWIN4.1", b.Slice(Off.Oem, 8));
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.BytesPerSector..], SectorSize);
        b[Off.SectorsPerCluster] = SectorsPerCluster;
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.ReservedSectors..], ReservedSectors);
        b[Off.NumFats] = NumFats;
        b[Off.Media] = Media;
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.SectorsPerTrack..], 63);
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.Heads..], 255);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.HiddenSectors..], HiddenSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.TotalSectors32..], TotalSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.FatSize32..], FatSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.RootCluster..], RootCluster);
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.FsInfo..], FsInfoSector);
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.BackupBoot..], BackupBootSector);
        b[Off.DriveNumber] = 0x80;
        b[Off.BootSig] = 0x29;
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.VolumeId..], VolumeId);
        Encoding.ASCII.GetBytes(VolumeLabel.PadRight(11), b.Slice(Off.VolumeLabel, 11));
        Encoding.ASCII.GetBytes("FAT32   ", b.Slice(Off.FsType, 8));
        b[Off.Signature] = 0x55; b[Off.Signature + 1] = 0xAA;
    }

    /// <summary>Reads the boot sector at offset 0 of <paramref name="volume"/>.</summary>
    public static BootSector Read(Stream volume)
    {
        var b = new byte[SectorSize];
        volume.Position = 0;
        volume.ReadExactly(b);
        return Read(b);
    }

    public static BootSector Read(ReadOnlySpan<byte> b)
    {
        if (b[Off.Signature] != 0x55 || b[Off.Signature + 1] != 0xAA)
            throw new InvalidDataException("FAT boot sector: no 0x55AA signature at byte 510");
        ushort bps = BinaryPrimitives.ReadUInt16LittleEndian(b[Off.BytesPerSector..]);
        if (bps != SectorSize) throw new InvalidDataException($"FAT boot sector: {bps} bytes per sector at byte {Off.BytesPerSector}; only 512 is supported");
        uint fat32 = BinaryPrimitives.ReadUInt32LittleEndian(b[Off.FatSize32..]);
        if (BinaryPrimitives.ReadUInt16LittleEndian(b[Off.FatSize16..]) != 0 || fat32 == 0)
            throw new InvalidDataException("FAT boot sector: not FAT32 (BPB_FATSz16 is set or BPB_FATSz32 is 0)");
        byte spc = b[Off.SectorsPerCluster];
        if (spc == 0 || (spc & (spc - 1)) != 0) throw new InvalidDataException($"FAT boot sector: {spc} sectors per cluster at byte {Off.SectorsPerCluster}");
        return new BootSector
        {
            SectorsPerCluster = spc,
            ReservedSectors = BinaryPrimitives.ReadUInt16LittleEndian(b[Off.ReservedSectors..]),
            NumFats = b[Off.NumFats],
            Media = b[Off.Media],
            HiddenSectors = BinaryPrimitives.ReadUInt32LittleEndian(b[Off.HiddenSectors..]),
            TotalSectors = BinaryPrimitives.ReadUInt32LittleEndian(b[Off.TotalSectors32..]),
            FatSize = fat32,
            RootCluster = BinaryPrimitives.ReadUInt32LittleEndian(b[Off.RootCluster..]),
            FsInfoSector = BinaryPrimitives.ReadUInt16LittleEndian(b[Off.FsInfo..]),
            BackupBootSector = BinaryPrimitives.ReadUInt16LittleEndian(b[Off.BackupBoot..]),
            VolumeId = BinaryPrimitives.ReadUInt32LittleEndian(b[Off.VolumeId..]),
            VolumeLabel = Encoding.ASCII.GetString(b.Slice(Off.VolumeLabel, 11)).TrimEnd(),
        };
    }
}
