// SquashFS 4.0 superblock (96 bytes at offset 0); layout per the squashfs-tools squashfs_fs.h and the kernel's Documentation/filesystems/squashfs.rst.
using System.Buffers.Binary;

namespace Appliance.ImageBuilder.Disk.SquashFs;

[Flags]
internal enum SuperBlockFlags : ushort
{
    UncompressedInodes = 0x0001, UncompressedData = 0x0002, Check = 0x0004, UncompressedFragments = 0x0008,
    NoFragments = 0x0010, AlwaysFragments = 0x0020, Duplicates = 0x0040, Exportable = 0x0080,
    UncompressedXattrs = 0x0100, NoXattrs = 0x0200, CompressorOptions = 0x0400, UncompressedIds = 0x0800,
}

internal sealed record SuperBlock
{
    public const uint MagicValue = 0x73717368; // "hsqs"
    public const int Size = 96;
    public const ulong InvalidTable = ulong.MaxValue;

    private static class Off
    {
        public const int Magic = 0, InodeCount = Magic + 4, ModTime = InodeCount + 4, BlockSize = ModTime + 4,
            FragmentCount = BlockSize + 4, Compression = FragmentCount + 4, BlockLog = Compression + 2, Flags = BlockLog + 2,
            IdCount = Flags + 2, VersionMajor = IdCount + 2, VersionMinor = VersionMajor + 2, RootInode = VersionMinor + 2,
            BytesUsed = RootInode + 8, IdTable = BytesUsed + 8, XattrIdTable = IdTable + 8, InodeTable = XattrIdTable + 8,
            DirectoryTable = InodeTable + 8, FragmentTable = DirectoryTable + 8, ExportTable = FragmentTable + 8, End = ExportTable + 8;
    }

    public uint InodeCount { get; init; }
    public uint ModificationTime { get; init; }
    public uint BlockSize { get; init; }
    public uint FragmentCount { get; init; }
    public SquashFsCompression Compression { get; init; }
    public SuperBlockFlags Flags { get; init; }
    public ushort IdCount { get; init; }
    public ulong RootInode { get; init; }
    public ulong BytesUsed { get; init; }
    public ulong IdTableStart { get; init; }
    public ulong XattrIdTableStart { get; init; } = InvalidTable;
    public ulong InodeTableStart { get; init; }
    public ulong DirectoryTableStart { get; init; }
    public ulong FragmentTableStart { get; init; }
    public ulong ExportTableStart { get; init; } = InvalidTable;

    public void WriteTo(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.Magic..], MagicValue);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.InodeCount..], InodeCount);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.ModTime..], ModificationTime);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.BlockSize..], BlockSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.FragmentCount..], FragmentCount);
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.Compression..], (ushort)Compression);
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.BlockLog..], (ushort)System.Numerics.BitOperations.Log2(BlockSize));
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.Flags..], (ushort)Flags);
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.IdCount..], IdCount);
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.VersionMajor..], 4);
        BinaryPrimitives.WriteUInt16LittleEndian(b[Off.VersionMinor..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(b[Off.RootInode..], RootInode);
        BinaryPrimitives.WriteUInt64LittleEndian(b[Off.BytesUsed..], BytesUsed);
        BinaryPrimitives.WriteUInt64LittleEndian(b[Off.IdTable..], IdTableStart);
        BinaryPrimitives.WriteUInt64LittleEndian(b[Off.XattrIdTable..], XattrIdTableStart);
        BinaryPrimitives.WriteUInt64LittleEndian(b[Off.InodeTable..], InodeTableStart);
        BinaryPrimitives.WriteUInt64LittleEndian(b[Off.DirectoryTable..], DirectoryTableStart);
        BinaryPrimitives.WriteUInt64LittleEndian(b[Off.FragmentTable..], FragmentTableStart);
        BinaryPrimitives.WriteUInt64LittleEndian(b[Off.ExportTable..], ExportTableStart);
    }

    public static SuperBlock Read(ReadOnlySpan<byte> b)
    {
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(b[Off.Magic..]);
        if (magic != MagicValue) throw new InvalidDataException($"squashfs superblock had magic 0x{magic:x8} instead of 0x{MagicValue:x8}");
        ushort major = BinaryPrimitives.ReadUInt16LittleEndian(b[Off.VersionMajor..]);
        ushort minor = BinaryPrimitives.ReadUInt16LittleEndian(b[Off.VersionMinor..]);
        if (major != 4 || minor != 0) throw new InvalidDataException($"squashfs version {major}.{minor} at byte {Off.VersionMajor}; only 4.0 is supported");
        var sb = new SuperBlock
        {
            InodeCount = BinaryPrimitives.ReadUInt32LittleEndian(b[Off.InodeCount..]),
            ModificationTime = BinaryPrimitives.ReadUInt32LittleEndian(b[Off.ModTime..]),
            BlockSize = BinaryPrimitives.ReadUInt32LittleEndian(b[Off.BlockSize..]),
            FragmentCount = BinaryPrimitives.ReadUInt32LittleEndian(b[Off.FragmentCount..]),
            Compression = (SquashFsCompression)BinaryPrimitives.ReadUInt16LittleEndian(b[Off.Compression..]),
            Flags = (SuperBlockFlags)BinaryPrimitives.ReadUInt16LittleEndian(b[Off.Flags..]),
            IdCount = BinaryPrimitives.ReadUInt16LittleEndian(b[Off.IdCount..]),
            RootInode = BinaryPrimitives.ReadUInt64LittleEndian(b[Off.RootInode..]),
            BytesUsed = BinaryPrimitives.ReadUInt64LittleEndian(b[Off.BytesUsed..]),
            IdTableStart = BinaryPrimitives.ReadUInt64LittleEndian(b[Off.IdTable..]),
            XattrIdTableStart = BinaryPrimitives.ReadUInt64LittleEndian(b[Off.XattrIdTable..]),
            InodeTableStart = BinaryPrimitives.ReadUInt64LittleEndian(b[Off.InodeTable..]),
            DirectoryTableStart = BinaryPrimitives.ReadUInt64LittleEndian(b[Off.DirectoryTable..]),
            FragmentTableStart = BinaryPrimitives.ReadUInt64LittleEndian(b[Off.FragmentTable..]),
            ExportTableStart = BinaryPrimitives.ReadUInt64LittleEndian(b[Off.ExportTable..]),
        };
        if (sb.BlockSize < 4096 || sb.BlockSize > 1 << 20 || (sb.BlockSize & (sb.BlockSize - 1)) != 0)
            throw new InvalidDataException($"squashfs superblock: block size {sb.BlockSize} at byte {Off.BlockSize} is not a power of two in 4 KiB..1 MiB");
        return sb;
    }
}
