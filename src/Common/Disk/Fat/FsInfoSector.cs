// Microsoft FAT specification §5: the FAT32 FSInfo sector (free cluster count and next free hint).
using System.Buffers.Binary;

namespace Appliance.Common.Disk.Fat;

internal readonly record struct FsInfoSector(uint FreeCount, uint NextFree)
{
    private const uint LeadSig = 0x41615252, StrucSig = 0x61417272, TrailSig = 0xAA550000;

    private static class Off
    {
        public const int Lead = 0, Struc = 484, Free = Struc + 4, Next = Free + 4, Trail = 508;
    }

    /// <summary>Byte offset of the free cluster count in the sector, which an editor that frees clusters sets to unknown.</summary>
    public const int FreeCountOffset = Off.Free;

    /// <summary>The free count meaning "unknown: count the FAT" (§5).</summary>
    public const uint Unknown = 0xFFFFFFFF;

    public void WriteTo(Span<byte> b)
    {
        b[..BootSector.SectorSize].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.Lead..], LeadSig);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.Struc..], StrucSig);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.Free..], FreeCount);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.Next..], NextFree);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.Trail..], TrailSig);
    }
}
