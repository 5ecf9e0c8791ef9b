// Checks the input and computes an IsoLayout: ISO names, record sizes, extents and continuation areas.
using System.Text;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Disk.Iso9660;

internal static class IsoPlanner
{
    public const int MaxDirectories = ushort.MaxValue; // path table parent numbers are 16-bit (ECMA-119 9.4.6)

    public static IsoLayout Plan(FileTree tree, IsoOptions options)
    {
        ValidateVolumeId(options.VolumeId);
        var layout = new IsoLayout { Options = options };
        var catalog = ResolveCatalog(tree, options);

        // Serial numbers (RRIP PX) per inode, in tree order; the boot catalog takes the next one.
        uint serial = 1;
        foreach (var n in tree.Walk())
            if (n.Type != FileNodeType.HardLink) layout.Serials[n] = serial++;

        // Directories in path table order (ECMA-119 6.9.1): by level, then parent number, then identifier.
        var root = new IsoLayout.Dir { Node = tree.Root };
        var queue = new Queue<IsoLayout.Dir>();
        queue.Enqueue(root);
        while (queue.Count > 0)
        {
            var d = queue.Dequeue();
            layout.Dirs.Add(d);
            d.Number = layout.Dirs.Count;
            if (d.Number > MaxDirectories)
                throw new ArgumentException($"the tree has more than {MaxDirectories} directories: an ISO 9660 path table numbers directories with 16 bits");
            var names = new IsoName.Allocator();
            var realNames = d.Node.Children.Select(c => (c.Name, (FileNode?)c)).ToList();
            if (catalog is { } cat && ReferenceEquals(cat.Parent, d.Node))
            {
                realNames.Add((cat.Name, null));
                realNames.Sort((a, b) => NameOrder.Instance.Compare(a.Name, b.Name));
            }
            foreach (var (name, node) in realNames)
            {
                bool isDir = node?.Type == FileNodeType.Directory;
                var iso = names.Allocate(name, isDir);
                var sub = isDir ? new IsoLayout.Dir { Node = node!, Parent = d, Name = iso } : null;
                d.Entries.Add(new IsoLayout.Entry { Name = iso, Node = node, Dir = sub });
            }
            d.Entries.Sort((a, b) => IsoName.Order.Compare(a.Name, b.Name));
            foreach (var e in d.Entries)
                if (e.Dir != null) queue.Enqueue(e.Dir);
        }
        layout.Serials[CatalogKey] = serial;

        // Path tables right after the descriptors.
        long pathTableSize = layout.Dirs.Sum(d => (long)PathTable.RecordSize(d.Name?.Bytes.Length ?? 1));
        layout.PathTableSize = (uint)pathTableSize;
        layout.PathTableBlocks = IsoLayout.Blocks(pathTableSize);
        uint next = IsoLayout.PvdLba + (uint)layout.DescriptorCount;
        layout.LPathLba = next; next += layout.PathTableBlocks;
        layout.MPathLba = next; next += layout.PathTableBlocks;

        // Directory records (sizes, continuation areas), then the extents.
        var ce = new CeAllocator();
        foreach (var d in layout.Dirs)
        {
            int offset = 0;
            foreach (var (id, susp, _, _) in Records(layout, d))
                d.Records.Add(PlanRecord(id.Length, susp, ce, ref offset));
            d.Blocks = IsoLayout.Blocks(offset);
        }
        foreach (var d in layout.Dirs) { d.Lba = next; next += d.Blocks; }
        layout.CeLba = next;
        layout.CeBlocks = ce.Blocks;
        next += (uint)ce.Blocks;
        if (options.BootEntries.Count > 0) layout.CatalogLba = next++;

        // File data in tree order; hard links share their target's extent; empty files point at block 0.
        long lba = next;
        foreach (var n in tree.Walk())
        {
            if (n.Type != FileNodeType.File || n.Size == 0) continue;
            layout.DataLba[n] = lba;
            layout.DataFiles.Add(n);
            lba += IsoLayout.Blocks(n.Size);
        }
        layout.DataEnd = lba;
        layout.TotalBlocks = lba + IsoLayout.PadBlocks;
        if (options.Hybrid != null)
            layout.TotalBlocks = (layout.TotalBlocks + IsoLayout.HybridAlignBlocks - 1) / IsoLayout.HybridAlignBlocks * IsoLayout.HybridAlignBlocks;
        if (layout.TotalBlocks > uint.MaxValue) throw new ArgumentException($"the image would take {layout.TotalBlocks} blocks of 2048 bytes; ISO 9660 addresses at most {uint.MaxValue}");

        PlaceBoot(tree, options, layout);
        return layout;
    }

    /// <summary>The key of the boot catalog's serial number (it has no tree node).</summary>
    public static readonly FileNode CatalogKey = new FileTree().Root;

    private static void ValidateVolumeId(string id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 32)
            throw new ArgumentException($"volume id '{id}' must be 1 to 32 characters long (it is {id?.Length ?? 0})", nameof(IsoOptions.VolumeId));
        for (int i = 0; i < id.Length; i++)
            if (id[i] is not (>= 'A' and <= 'Z' or >= '0' and <= '9' or '_'))
                throw new ArgumentException($"volume id '{id}': character '{id[i]}' at position {i + 1} is not a d-character (A-Z, 0-9, _; ECMA-119 7.4.1)", nameof(IsoOptions.VolumeId));
    }

    /// <summary>A stand-in node for the boot catalog (name and parent directory), checked against the tree.</summary>
    private static (string Name, FileNode Parent)? ResolveCatalog(FileTree tree, IsoOptions options)
    {
        if (options.BootEntries.Count == 0) return null;
        var parts = options.BootCatalogPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new ArgumentException($"boot catalog path '{options.BootCatalogPath}' names no file", nameof(IsoOptions.BootCatalogPath));
        if (tree.Find(options.BootCatalogPath) != null)
            throw new ArgumentException($"boot catalog path /{string.Join('/', parts)} already exists in the tree", nameof(IsoOptions.BootCatalogPath));
        var parent = tree.Find(string.Join('/', parts[..^1]));
        if (parent?.Type != FileNodeType.Directory)
            throw new ArgumentException($"boot catalog path /{string.Join('/', parts)}: directory /{string.Join('/', parts[..^1])} is not in the tree", nameof(IsoOptions.BootCatalogPath));
        if (Encoding.UTF8.GetByteCount(parts[^1]) > 255) throw new ArgumentException($"boot catalog name '{parts[^1]}' is longer than 255 bytes");
        return (parts[^1], parent);
    }

    private static void PlaceBoot(FileTree tree, IsoOptions options, IsoLayout layout)
    {
        if (options.BootEntries.Count == 0) return;
        if (BootCatalog.EntryCount(options.BootEntries) * BootCatalog.EntrySize > IsoLayout.BlockSize)
            throw new ArgumentException($"{options.BootEntries.Count} boot entries do not fit in one 2048-byte boot catalog");
        for (int i = 0; i < options.BootEntries.Count; i++)
        {
            var e = options.BootEntries[i];
            string where = $"boot entry {i + 1} ({e.Platform})";
            var node = tree.Find(e.Path) ?? throw new ArgumentException($"{where}: /{e.Path.TrimStart('/')} is not in the tree");
            var inode = node.Inode;
            if (inode.Type != FileNodeType.File)
                throw new ArgumentException($"{where}: /{e.Path.TrimStart('/')} is a {inode.Type}, not a regular file");
            if (inode.Size == 0) throw new ArgumentException($"{where}: /{e.Path.TrimStart('/')} is empty");
            if (inode.Size > IsoLayout.SingleExtentMax) throw new ArgumentException($"{where}: /{e.Path.TrimStart('/')} is {inode.Size} bytes; a boot image must be under 4 GiB");
            ushort load = e.LoadSectors ?? (e.Platform == IsoBootPlatform.X86Bios ? (ushort)4 : (ushort)Math.Min((inode.Size + 511) / 512, 0xFFFF));
            if (load == 0) throw new ArgumentException($"{where}: LoadSectors must be at least 1");
            if (e.BootInfoTable)
            {
                if (inode.Size < BootCatalog.ChecksumStart)
                    throw new ArgumentException($"{where}: /{e.Path.TrimStart('/')} is {inode.Size} bytes, too small for a boot info table (64 bytes at least)");
                layout.BootInfoChecksums[inode] = Checksum(inode.Content!);
            }
            layout.Boot.Add(new PlacedBootEntry(e, (uint)layout.DataLba[inode], inode.Size, load));
        }
    }

    private static uint Checksum(FileContent content)
    {
        using var r = content.Open();
        var buf = new byte[1 << 20];
        uint sum = 0;
        for (long at = BootCatalog.ChecksumStart; at < content.Length; at += buf.Length)
        {
            int n = (int)Math.Min(buf.Length, content.Length - at);
            r.ReadExactly(at, buf.AsSpan(0, n));
            sum = BootCatalog.Sum(buf.AsSpan(0, n), sum);
        }
        return sum;
    }

    /// <summary>
    /// Every record of a directory in order, as (identifier, SUSP entries): ".", "..", then the children
    /// (a file of 4 GiB or more once per extent). Used by the planner for sizes and by the writer for the bytes.
    /// </summary>
    public static IEnumerable<(byte[] Id, List<byte[]> Susp, IsoLayout.Entry? Entry, int Part)> Records(IsoLayout layout, IsoLayout.Dir d)
    {
        bool isRoot = d.Parent is null;
        yield return ([0], Susp(layout, d.Node, null, isRoot), null, 0);
        yield return ([1], Susp(layout, (d.Parent ?? d).Node, null, false), null, 1);
        foreach (var e in d.Entries)
        {
            var susp = e.Node is null ? CatalogSusp(layout) : Susp(layout, e.Node, e.Node.Name, false);
            int count = e.Node?.Inode is { Type: FileNodeType.File } f ? ExtentCount(f.Size) : 1;
            for (int i = 0; i < count; i++) yield return (e.Name.Bytes, susp, e, i);
        }
    }

    public static int ExtentCount(long size) => size <= IsoLayout.SingleExtentMax ? 1 : (int)((size + IsoLayout.ExtentMax - 1) / IsoLayout.ExtentMax);

    private static List<byte[]> Susp(IsoLayout layout, FileNode node, string? name, bool rootDot)
    {
        var inode = node.Inode;
        var list = new List<byte[]>();
        if (rootDot) list.Add(RockRidge.Sp());
        int type = inode.Type switch
        {
            FileNodeType.Directory => RockRidge.TypeDirectory,
            FileNodeType.Symlink => RockRidge.TypeSymlink,
            FileNodeType.CharDevice => RockRidge.TypeChar,
            FileNodeType.BlockDevice => RockRidge.TypeBlock,
            FileNodeType.Fifo => RockRidge.TypeFifo,
            FileNodeType.Socket => RockRidge.TypeSocket,
            _ => RockRidge.TypeFile,
        };
        int links = inode.Type == FileNodeType.Directory ? 2 + inode.Children.Count(c => c.Type == FileNodeType.Directory) : inode.LinkCount;
        list.Add(RockRidge.Px(type | (inode.Mode & 0xFFF), links, inode.Uid, inode.Gid, layout.Serials[inode]));
        list.Add(RockRidge.Tf(inode.MTime));
        if (inode.Type is FileNodeType.CharDevice or FileNodeType.BlockDevice) list.Add(RockRidge.Pn(inode.RdevMajor, inode.RdevMinor));
        if (name != null) list.AddRange(RockRidge.Nm(name));
        if (inode.Type == FileNodeType.Symlink) list.AddRange(RockRidge.Sl(inode.LinkTarget!));
        if (rootDot) list.Add(RockRidge.Er());
        return list;
    }

    private static List<byte[]> CatalogSusp(IsoLayout layout)
    {
        var name = layout.Options.BootCatalogPath.Split('/', StringSplitOptions.RemoveEmptyEntries)[^1];
        var list = new List<byte[]>
        {
            RockRidge.Px(RockRidge.TypeFile | 0b100_100_100, 1, 0, 0, layout.Serials[CatalogKey]),
            RockRidge.Tf(layout.Options.SourceDateEpoch),
        };
        list.AddRange(RockRidge.Nm(name));
        return list;
    }

    /// <summary>Fits the SUSP entries inline where they fit (keeping 28 bytes for a CE entry when they do not), the rest into continuation areas.</summary>
    private static IsoLayout.RecordPlan PlanRecord(int idLength, List<byte[]> susp, CeAllocator ce, ref int offset)
    {
        int capacity = DirectoryRecord.MaxSize - 1 - DirectoryRecord.HeaderSize(idLength);
        int total = susp.Sum(e => e.Length);
        int inline = susp.Count, inlineBytes = total;
        var areas = new List<IsoLayout.CeArea>();
        if (total > capacity)
        {
            inline = 0; inlineBytes = 0;
            while (inline < susp.Count && inlineBytes + susp[inline].Length <= capacity - RockRidge.CeSize) inlineBytes += susp[inline++].Length;
            inlineBytes += RockRidge.CeSize;
            int i = inline;
            while (i < susp.Count)
            {
                int rest = 0;
                for (int k = i; k < susp.Count; k++) rest += susp[k].Length;
                int count, length;
                if (rest <= IsoLayout.BlockSize) { count = susp.Count - i; length = rest; }
                else
                {
                    count = 0; length = 0;
                    while (length + susp[i + count].Length <= IsoLayout.BlockSize - RockRidge.CeSize) length += susp[i + count++].Length;
                    length += RockRidge.CeSize;
                }
                var (block, at) = ce.Reserve(length);
                areas.Add(new IsoLayout.CeArea(block, at, length, i, count));
                i += count;
            }
        }
        int size = DirectoryRecord.Size(idLength, inlineBytes);
        if (offset % IsoLayout.BlockSize + size > IsoLayout.BlockSize) offset = (offset / IsoLayout.BlockSize + 1) * IsoLayout.BlockSize;
        var plan = new IsoLayout.RecordPlan(size, inline, offset, areas);
        offset += size;
        return plan;
    }

    /// <summary>Hands out continuation areas; an area never crosses a block (SUSP 5.1; Linux refuses one that does).</summary>
    private sealed class CeAllocator
    {
        private int _block, _offset;
        public int Blocks => _offset == 0 ? _block : _block + 1;

        public (int Block, int Offset) Reserve(int length)
        {
            if (_offset + length > IsoLayout.BlockSize) { _block++; _offset = 0; }
            var r = (_block, _offset);
            _offset += length;
            return r;
        }
    }
}
