// Plans a whole ISO image before a byte is written: names, directory extents, continuation areas, file extents, padding.
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Disk.Iso9660;

/// <summary>
/// The layout of an image, in block (2048-byte) order: system area (0–15), volume descriptors (16–), L and M path tables,
/// directories in path-table order, Rock Ridge continuation areas, the boot catalog, file data in tree order, padding.
/// </summary>
internal sealed class IsoLayout
{
    public const int BlockSize = 2048;
    public const int SystemAreaBlocks = 16;
    public const uint PvdLba = 16;
    /// <summary>Files up to this size take one extent; larger ones several of <see cref="ExtentMax"/> (ECMA-119 multi-extent).</summary>
    public const long SingleExtentMax = uint.MaxValue;
    /// <summary>The largest extent of a multi-extent file: 4 GiB less one block, so every extent but the last is whole blocks.</summary>
    public const long ExtentMax = uint.MaxValue - BlockSize + 1;
    /// <summary>xorriso's (mkisofs -pad) 300 KiB of padding after the last file.</summary>
    public const int PadBlocks = 150;
    /// <summary>A hybrid image ends on a 1 MiB boundary (xorriso's cylinder alignment: 64 heads × 32 sectors × 512 bytes).</summary>
    public const int HybridAlignBlocks = 512;

    public sealed class Dir
    {
        public required FileNode Node { get; init; }
        public Dir? Parent { get; init; }
        public IsoName? Name { get; init; }
        public int Number { get; set; }
        public List<Entry> Entries { get; } = [];
        public List<RecordPlan> Records { get; } = [];
        public uint Lba { get; set; }
        public uint Blocks { get; set; }
    }

    public sealed class Entry
    {
        public required IsoName Name { get; init; }
        /// <summary>The tree node, or null for the boot catalog.</summary>
        public FileNode? Node { get; init; }
        public Dir? Dir { get; init; }
    }

    /// <summary>How one directory record is laid out: its size, how many SUSP entries are inline, and its continuation areas.</summary>
    public sealed record RecordPlan(int Size, int Inline, int Offset, List<CeArea> Areas);

    /// <summary>A continuation area: a block relative to the first continuation block, an offset in it, and its entries.</summary>
    public sealed record CeArea(int Block, int Offset, int Length, int First, int Count);

    public required IsoOptions Options { get; init; }
    public List<Dir> Dirs { get; } = [];
    public Dictionary<FileNode, uint> Serials { get; } = new(ReferenceEqualityComparer.Instance);
    public Dictionary<FileNode, long> DataLba { get; } = new(ReferenceEqualityComparer.Instance);
    /// <summary>Regular files (inodes) with data, in the order their data is written.</summary>
    public List<FileNode> DataFiles { get; } = [];
    public List<PlacedBootEntry> Boot { get; } = [];
    public Dictionary<FileNode, uint> BootInfoChecksums { get; } = new(ReferenceEqualityComparer.Instance);
    public uint PathTableSize { get; set; }
    public uint LPathLba { get; set; }
    public uint MPathLba { get; set; }
    public uint PathTableBlocks { get; set; }
    public uint CeLba { get; set; }
    public int CeBlocks { get; set; }
    public uint CatalogLba { get; set; }
    public long DataEnd { get; set; }
    public long TotalBlocks { get; set; }
    public int DescriptorCount => Options.BootEntries.Count > 0 ? 3 : 2;

    public static uint Blocks(long bytes) => (uint)((bytes + BlockSize - 1) / BlockSize);
}
