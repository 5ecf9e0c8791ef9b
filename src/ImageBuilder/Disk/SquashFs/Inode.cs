// SquashFS 4.0 inodes: the common 16-byte header and the basic and extended bodies of every inode type.
using System.Buffers.Binary;
using System.Text;

namespace Appliance.ImageBuilder.Disk.SquashFs;

/// <summary>Inode type numbers; extended types are the basic ones plus 7.</summary>
internal enum InodeType : ushort
{
    Dir = 1, File = 2, Symlink = 3, BlockDev = 4, CharDev = 5, Fifo = 6, Socket = 7,
    LDir = 8, LFile = 9, LSymlink = 10, LBlockDev = 11, LCharDev = 12, LFifo = 13, LSocket = 14,
}

/// <summary>A decoded inode of any type; only the fields of its type are meaningful.</summary>
internal sealed class Inode
{
    public const uint NoXattr = 0xFFFFFFFF;
    public const uint NoFragment = 0xFFFFFFFF;
    public const int HeaderSize = 16;

    public InodeType Type;
    public ushort Mode;           // permission bits (07777); the type comes from the inode type
    public ushort UidIndex, GidIndex;
    public uint MTime, Number;
    public uint LinkCount = 1;
    public uint XattrIndex = NoXattr;
    // Directories
    public uint DirBlock, DirSize, ParentNumber;
    public ushort DirOffset;
    // Files
    public ulong BlocksStart, FileSize, Sparse;
    public uint FragmentIndex = NoFragment, FragmentOffset;
    public uint[] BlockSizes = [];
    // Symlinks
    public byte[] Target = [];
    // Devices
    public uint Device;

    public InodeType BasicType => Type > InodeType.Socket ? Type - 7 : Type;

    public void WriteTo(MetadataWriter w)
    {
        Span<byte> h = stackalloc byte[HeaderSize];
        BinaryPrimitives.WriteUInt16LittleEndian(h, (ushort)Type);
        BinaryPrimitives.WriteUInt16LittleEndian(h[2..], Mode);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], UidIndex);
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], GidIndex);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], MTime);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], Number);
        w.Write(h);
        var b = new FieldWriter(w);
        switch (Type)
        {
            case InodeType.Dir:
                b.U32(DirBlock); b.U32(LinkCount); b.U16((ushort)DirSize); b.U16(DirOffset); b.U32(ParentNumber);
                break;
            case InodeType.LDir:
                b.U32(LinkCount); b.U32(DirSize); b.U32(DirBlock); b.U32(ParentNumber); b.U16(0); b.U16(DirOffset); b.U32(XattrIndex);
                break;
            case InodeType.File:
                b.U32((uint)BlocksStart); b.U32(FragmentIndex); b.U32(FragmentOffset); b.U32((uint)FileSize);
                foreach (var s in BlockSizes) b.U32(s);
                break;
            case InodeType.LFile:
                b.U64(BlocksStart); b.U64(FileSize); b.U64(Sparse); b.U32(LinkCount); b.U32(FragmentIndex); b.U32(FragmentOffset); b.U32(XattrIndex);
                foreach (var s in BlockSizes) b.U32(s);
                break;
            case InodeType.Symlink:
            case InodeType.LSymlink:
                b.U32(LinkCount); b.U32((uint)Target.Length); w.Write(Target);
                if (Type == InodeType.LSymlink) b.U32(XattrIndex);
                break;
            case InodeType.BlockDev:
            case InodeType.CharDev:
                b.U32(LinkCount); b.U32(Device);
                break;
            case InodeType.LBlockDev:
            case InodeType.LCharDev:
                b.U32(LinkCount); b.U32(Device); b.U32(XattrIndex);
                break;
            case InodeType.Fifo:
            case InodeType.Socket:
                b.U32(LinkCount);
                break;
            case InodeType.LFifo:
            case InodeType.LSocket:
                b.U32(LinkCount); b.U32(XattrIndex);
                break;
        }
    }

    public static Inode Read(MetadataReader r, uint blockSize)
    {
        var h = r.ReadBytes(HeaderSize);
        var n = new Inode
        {
            Type = (InodeType)BinaryPrimitives.ReadUInt16LittleEndian(h),
            Mode = BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(2)),
            UidIndex = BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(4)),
            GidIndex = BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(6)),
            MTime = BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(8)),
            Number = BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(12)),
        };
        switch (n.Type)
        {
            case InodeType.Dir:
                n.DirBlock = r.U32(); n.LinkCount = r.U32(); n.DirSize = r.U16(); n.DirOffset = r.U16(); n.ParentNumber = r.U32();
                break;
            case InodeType.LDir:
                n.LinkCount = r.U32(); n.DirSize = r.U32(); n.DirBlock = r.U32(); n.ParentNumber = r.U32();
                ushort indexCount = r.U16(); n.DirOffset = r.U16(); n.XattrIndex = r.U32();
                for (int i = 0; i < indexCount; i++) { r.U32(); r.U32(); uint len = r.U32(); r.ReadBytes((int)len + 1); }
                break;
            case InodeType.File:
                n.BlocksStart = r.U32(); n.FragmentIndex = r.U32(); n.FragmentOffset = r.U32(); n.FileSize = r.U32();
                n.BlockSizes = ReadBlocks(r, n, blockSize);
                break;
            case InodeType.LFile:
                n.BlocksStart = r.U64(); n.FileSize = r.U64(); n.Sparse = r.U64(); n.LinkCount = r.U32();
                n.FragmentIndex = r.U32(); n.FragmentOffset = r.U32(); n.XattrIndex = r.U32();
                n.BlockSizes = ReadBlocks(r, n, blockSize);
                break;
            case InodeType.Symlink:
            case InodeType.LSymlink:
                n.LinkCount = r.U32(); uint tlen = r.U32();
                if (tlen > 4096) throw new InvalidDataException($"squashfs inode {n.Number}: symlink target length {tlen} exceeds 4096");
                n.Target = r.ReadBytes((int)tlen);
                if (n.Type == InodeType.LSymlink) n.XattrIndex = r.U32();
                break;
            case InodeType.BlockDev:
            case InodeType.CharDev:
                n.LinkCount = r.U32(); n.Device = r.U32();
                break;
            case InodeType.LBlockDev:
            case InodeType.LCharDev:
                n.LinkCount = r.U32(); n.Device = r.U32(); n.XattrIndex = r.U32();
                break;
            case InodeType.Fifo:
            case InodeType.Socket:
                n.LinkCount = r.U32();
                break;
            case InodeType.LFifo:
            case InodeType.LSocket:
                n.LinkCount = r.U32(); n.XattrIndex = r.U32();
                break;
            default:
                throw new InvalidDataException($"squashfs inode {n.Number}: unknown inode type {(ushort)n.Type}");
        }
        return n;
    }

    private static uint[] ReadBlocks(MetadataReader r, Inode n, uint blockSize)
    {
        ulong count = n.FragmentIndex == NoFragment ? (n.FileSize + blockSize - 1) / blockSize : n.FileSize / blockSize;
        var sizes = new uint[count];
        for (ulong i = 0; i < count; i++) sizes[i] = r.U32();
        return sizes;
    }

    /// <summary>Linux new_encode_dev: minor low byte, major, then the minor's high bits.</summary>
    public static uint EncodeDevice(int major, int minor) =>
        (uint)((minor & 0xFF) | ((major & 0xFFF) << 8) | ((minor & ~0xFF) << 12));

    public static (int Major, int Minor) DecodeDevice(uint dev) =>
        ((int)((dev & 0xFFF00) >> 8), (int)((dev & 0xFF) | ((dev >> 12) & 0xFFF00)));

    public string TargetText => Encoding.UTF8.GetString(Target);

    private readonly ref struct FieldWriter(MetadataWriter w)
    {
        public void U16(ushort v) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); w.Write(b); }
        public void U32(uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); w.Write(b); }
        public void U64(ulong v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); w.Write(b); }
    }
}
