// ECMA-119 8.4 Primary Volume Descriptor, 8.2 Boot Record (El Torito 1.0 §2.0), 8.3 Volume Descriptor Set Terminator.
using System.Buffers.Binary;
using System.Text;

namespace Appliance.ImageBuilder.Disk.Iso9660;

internal static class VolumeDescriptor
{
    public const int Size = 2048;
    public const byte TypeBoot = 0, TypePrimary = 1, TypeTerminator = 255;
    private static readonly byte[] StandardId = "CD001"u8.ToArray();

    private static class Pvd
    {
        public const int Type = 0, Id = Type + 1, Version = Id + 5, Unused1 = Version + 1, SystemId = Unused1 + 1,
            VolumeId = SystemId + 32, Unused2 = VolumeId + 32, SpaceSize = Unused2 + 8, Unused3 = SpaceSize + 8,
            SetSize = Unused3 + 32, SeqNumber = SetSize + 4, BlockSize = SeqNumber + 4, PathTableSize = BlockSize + 4,
            LPathTable = PathTableSize + 8, LPathTableOptional = LPathTable + 4, MPathTable = LPathTableOptional + 4,
            MPathTableOptional = MPathTable + 4, RootRecord = MPathTableOptional + 4, SetId = RootRecord + 34,
            PublisherId = SetId + 128, PreparerId = PublisherId + 128, ApplicationId = PreparerId + 128,
            CopyrightId = ApplicationId + 128, AbstractId = CopyrightId + 37, BibliographicId = AbstractId + 37,
            Created = BibliographicId + 37, Modified = Created + 17, Expires = Modified + 17, Effective = Expires + 17,
            StructureVersion = Effective + 17;
    }

    private static class Boot
    {
        public const int SystemId = 7, BootId = SystemId + 32, CatalogLba = BootId + 32; // El Torito 1.0 table 2: 0x47
    }

    private static void Header(Span<byte> b, byte type)
    {
        b[..Size].Clear();
        b[0] = type;
        StandardId.CopyTo(b[1..]);
        b[6] = 1;
    }

    public static void WritePrimary(Span<byte> b, string volumeId, uint spaceBlocks, uint pathTableSize, uint lPathLba,
        uint mPathLba, ReadOnlySpan<byte> rootRecord, long created)
    {
        Header(b, TypePrimary);
        IsoBytes.Text(b.Slice(Pvd.SystemId, 32), "");
        IsoBytes.Text(b.Slice(Pvd.VolumeId, 32), volumeId);
        IsoBytes.Both32(b[Pvd.SpaceSize..], spaceBlocks);
        IsoBytes.Both16(b[Pvd.SetSize..], 1);
        IsoBytes.Both16(b[Pvd.SeqNumber..], 1);
        IsoBytes.Both16(b[Pvd.BlockSize..], IsoLayout.BlockSize);
        IsoBytes.Both32(b[Pvd.PathTableSize..], pathTableSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Pvd.LPathTable..], lPathLba);
        BinaryPrimitives.WriteUInt32BigEndian(b[Pvd.MPathTable..], mPathLba);
        rootRecord.CopyTo(b[Pvd.RootRecord..]);
        IsoBytes.Text(b.Slice(Pvd.SetId, Pvd.AbstractId + 37 + 37 - Pvd.SetId), "");
        IsoDate.WriteVolume(created, b[Pvd.Created..]);
        IsoDate.WriteVolume(created, b[Pvd.Modified..]);
        IsoDate.WriteVolume(null, b[Pvd.Expires..]);
        IsoDate.WriteVolume(created, b[Pvd.Effective..]);
        b[Pvd.StructureVersion] = 1;
    }

    public static void WriteBootRecord(Span<byte> b, uint catalogLba)
    {
        Header(b, TypeBoot);
        Encoding.ASCII.GetBytes("EL TORITO SPECIFICATION", b[Boot.SystemId..]);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Boot.CatalogLba..], catalogLba);
    }

    public static void WriteTerminator(Span<byte> b) => Header(b, TypeTerminator);
}
