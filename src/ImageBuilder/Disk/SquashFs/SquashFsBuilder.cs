// Writes a FileTree as a SquashFS 4.0 image: plan inode order, stream data blocks, then tables, superblock last.
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Appliance.ImageBuilder.Disk.Common;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Disk.SquashFs;

/// <summary>
/// Builds a SquashFS 4.0 image from a <see cref="FileTree"/>. Data is streamed (bounded memory), blocks are
/// compressed in parallel, all-zero blocks are stored sparse, identical files are stored once, and the same
/// tree always gives the same bytes.
/// </summary>
public sealed class SquashFsBuilder
{
    private readonly FileTree _tree;
    private readonly SquashFsOptions _options;

    /// <summary>Prepares a build of <paramref name="tree"/>.</summary>
    public SquashFsBuilder(FileTree tree, SquashFsOptions? options = null)
    {
        _tree = tree;
        _options = options ?? new SquashFsOptions();
        _options.Validate();
    }

    /// <summary>Builds the image into a new file (via a temporary file and rename); returns its size.</summary>
    /// <param name="path">The output file.</param>
    /// <param name="durable">Write around the page cache and fsync before the rename (the default); false leaves
    /// write-back to the kernel, as mksquashfs does.</param>
    public long Build(string path, bool durable = true) => ImageFileStream.WriteFile(path, durable, Build);

    private sealed class Info
    {
        public required FileNode Node;
        public uint Number;
        public FileData? Data;
        public uint Block;
        public ushort Offset;
        public InodeType BasicType;
    }

    /// <summary>
    /// Writes the image at offset 0 of <paramref name="output"/> (seekable; zero where not written) and
    /// returns the bytes used, padded to 4 KiB as mksquashfs does for loop devices.
    /// </summary>
    public long Build(Stream output)
    {
        var codec = new BlockCodec(_options.Compression, _options.EffectiveLevel);
        var order = PlanOrder();
        var infos = new Dictionary<FileNode, Info>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < order.Count; i++) infos[order[i]] = new Info { Node = order[i], Number = (uint)(i + 1), BasicType = BasicTypeOf(order[i]) };

        // Data blocks and fragments, in inode order.
        output.Position = SuperBlock.Size;
        var data = new DataWriter(output, codec, _options.BlockSize, _options.Fragments, _options.Parallelism);
        var duplicates = _options.Deduplicate ? FindDuplicates(order) : [];
        var firstOfContent = new Dictionary<string, FileData>(StringComparer.Ordinal);
        var files = order.Where(n => n.Type == FileNodeType.File).Select(n => (Node: n, Content: n.Content ?? FileContent.FromBytes([]))).ToList();
        using (var readAhead = new HostReadAhead([.. files.Select(f => f.Content)]))
        {
            foreach (var (node, content) in files)
            {
                if (duplicates.TryGetValue(node, out var digest))
                {
                    if (firstOfContent.TryGetValue(digest, out var same)) infos[node].Data = same;
                    else firstOfContent[digest] = infos[node].Data = data.Add(content);
                }
                else infos[node].Data = data.Add(content);
                readAhead.Consumed(content.Length);
            }
        }
        data.Finish();

        // Inode and directory tables.
        var ids = new List<uint>();
        var idIndex = new Dictionary<uint, ushort>();
        ushort Id(int v)
        {
            uint u = (uint)v;
            if (!idIndex.TryGetValue(u, out var ix))
            {
                if (ids.Count == ushort.MaxValue) throw new InvalidDataException("the tree uses more than 65535 distinct uids and gids");
                idIndex[u] = ix = (ushort)ids.Count;
                ids.Add(u);
            }
            return ix;
        }
        var xattrs = new XattrTable(codec);
        var inodes = new MetadataWriter(codec);
        var dirs = new MetadataWriter(codec);
        uint rootParent = (uint)order.Count + 1;
        foreach (var node in order)
        {
            var info = infos[node];
            var ino = new Inode
            {
                Mode = (ushort)(node.Mode & 0xFFF), // permission bits only: recent kernels reject file-type bits here
                UidIndex = Id(node.Uid),
                GidIndex = Id(node.Gid),
                MTime = (uint)Math.Clamp(node.MTime, 0, uint.MaxValue),
                Number = info.Number,
                LinkCount = (uint)node.LinkCount,
                XattrIndex = xattrs.Add(node.Xattrs, "/" + node.Path),
            };
            bool ext = ino.XattrIndex != Inode.NoXattr;
            switch (node.Type)
            {
                case FileNodeType.Directory:
                {
                    var entries = node.Children.Select(c =>
                    {
                        var t = infos[c.Inode];
                        return new DirectoryEntry(c.Name, t.Block, t.Offset, t.Number, t.BasicType);
                    }).ToList();
                    var (block, offset) = dirs.Position;
                    int size = DirectoryListing.Write(dirs, entries) + 3;
                    ino.DirBlock = (uint)block;
                    ino.DirOffset = (ushort)offset;
                    ino.DirSize = (uint)size;
                    ino.LinkCount = 2 + (uint)node.Children.Count(c => c.Type == FileNodeType.Directory);
                    ino.ParentNumber = node.Parent is null ? rootParent : infos[node.Parent].Number;
                    ino.Type = ext || size > ushort.MaxValue ? InodeType.LDir : InodeType.Dir;
                    break;
                }
                case FileNodeType.File:
                {
                    var d = info.Data!;
                    ino.BlocksStart = d.BlocksStart;
                    ino.FileSize = (ulong)node.Size;
                    ino.Sparse = d.Sparse;
                    ino.FragmentIndex = d.FragmentIndex;
                    ino.FragmentOffset = d.FragmentOffset;
                    ino.BlockSizes = d.BlockSizes;
                    ext |= node.LinkCount > 1 || d.Sparse > 0 || d.BlocksStart > uint.MaxValue || ino.FileSize > uint.MaxValue;
                    ino.Type = ext ? InodeType.LFile : InodeType.File;
                    break;
                }
                case FileNodeType.Symlink:
                    ino.Target = Encoding.UTF8.GetBytes(node.LinkTarget ?? "");
                    ino.Type = ext ? InodeType.LSymlink : InodeType.Symlink;
                    break;
                case FileNodeType.CharDevice:
                case FileNodeType.BlockDevice:
                    ino.Device = Inode.EncodeDevice(node.RdevMajor, node.RdevMinor);
                    bool chr = node.Type == FileNodeType.CharDevice;
                    ino.Type = chr ? (ext ? InodeType.LCharDev : InodeType.CharDev) : (ext ? InodeType.LBlockDev : InodeType.BlockDev);
                    break;
                case FileNodeType.Fifo:
                    ino.Type = ext ? InodeType.LFifo : InodeType.Fifo;
                    break;
                case FileNodeType.Socket:
                    ino.Type = ext ? InodeType.LSocket : InodeType.Socket;
                    break;
                default:
                    throw new InvalidOperationException($"/{node.Path}: unexpected {node.Type} in the inode order");
            }
            var (ib, io) = inodes.Position;
            info.Block = (uint)ib;
            info.Offset = (ushort)io;
            ino.WriteTo(inodes);
        }
        var root = infos[_tree.Root];

        // Tables, in the order the kernel checks them: inodes, directories, fragments, ids, xattrs.
        ulong inodeStart = (ulong)output.Position;
        output.Write(inodes.Finish());
        ulong dirStart = (ulong)output.Position;
        output.Write(dirs.Finish());
        ulong fragStart = WriteIndexedTable(output, codec, data.Fragments.Count, 16, (i, b) =>
        {
            BinaryPrimitives.WriteUInt64LittleEndian(b, data.Fragments[i].Start);
            BinaryPrimitives.WriteUInt32LittleEndian(b[8..], data.Fragments[i].SizeWord);
            BinaryPrimitives.WriteUInt32LittleEndian(b[12..], 0);
        });
        ulong idStart = WriteIndexedTable(output, codec, ids.Count, 4, (i, b) => BinaryPrimitives.WriteUInt32LittleEndian(b, ids[i]));
        ulong xattrStart = xattrs.Count > 0 ? xattrs.WriteTo(output) : SuperBlock.InvalidTable;
        ulong bytesUsed = (ulong)output.Position;

        var flags = SuperBlockFlags.NoXattrs;
        if (xattrs.Count > 0) flags &= ~SuperBlockFlags.NoXattrs;
        if (_options.Deduplicate) flags |= SuperBlockFlags.Duplicates;
        flags |= _options.Fragments ? SuperBlockFlags.AlwaysFragments : SuperBlockFlags.NoFragments;
        var sb = new SuperBlock
        {
            InodeCount = (uint)order.Count,
            ModificationTime = (uint)Math.Clamp(_options.ModificationTime ?? _tree.Walk().Max(n => n.MTime), 0, uint.MaxValue),
            BlockSize = (uint)_options.BlockSize,
            FragmentCount = (uint)data.Fragments.Count,
            Compression = _options.Compression,
            Flags = flags,
            IdCount = (ushort)ids.Count,
            RootInode = ((ulong)root.Block << 16) | root.Offset,
            BytesUsed = bytesUsed,
            IdTableStart = idStart,
            XattrIdTableStart = xattrStart,
            InodeTableStart = inodeStart,
            DirectoryTableStart = dirStart,
            FragmentTableStart = fragStart,
        };
        long padded = (long)((bytesUsed + 4095) & ~4095UL);
        if (padded > output.Length) output.SetLength(padded);
        var sbBytes = new byte[SuperBlock.Size];
        sb.WriteTo(sbBytes);
        output.Position = 0;
        output.Write(sbBytes);
        output.Position = padded;
        return padded;
    }

    /// <summary>A table of fixed-size entries in metadata blocks, followed by the u64 locations of those blocks.</summary>
    private static ulong WriteIndexedTable(Stream output, BlockCodec codec, int count, int entrySize, SpanAction write)
    {
        var w = new MetadataWriter(codec);
        var e = new byte[entrySize];
        for (int i = 0; i < count; i++) { write(i, e); w.Write(e); }
        long start = output.Position;
        output.Write(w.Finish());
        ulong lookup = (ulong)output.Position;
        var loc = new byte[8];
        foreach (var b in w.BlockStarts)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(loc, (ulong)(start + b));
            output.Write(loc);
        }
        return lookup;
    }

    private delegate void SpanAction(int index, Span<byte> entry);

    /// <summary>
    /// The inode order: depth-first, a directory after its contents; a hard-linked inode where its first name is met.
    /// Inode numbers are positions in this order, so the root comes last.
    /// </summary>
    private List<FileNode> PlanOrder()
    {
        var order = new List<FileNode>();
        var seen = new HashSet<FileNode>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(FileNode Dir, IEnumerator<FileNode> Children)>();
        stack.Push((_tree.Root, _tree.Root.Children.GetEnumerator()));
        while (stack.Count > 0)
        {
            var (dir, it) = stack.Peek();
            if (!it.MoveNext()) { stack.Pop(); order.Add(dir); continue; }
            var c = it.Current;
            if (c.Type == FileNodeType.Directory) { stack.Push((c, c.Children.GetEnumerator())); continue; }
            var target = c.Inode;
            if (seen.Add(target)) order.Add(target);
        }
        return order;
    }

    /// <summary>Files whose size another file shares, with the SHA-256 of their content (read in parallel).</summary>
    private Dictionary<FileNode, string> FindDuplicates(List<FileNode> order)
    {
        var candidates = order.Where(n => n.Type == FileNodeType.File && n.Size > 0)
            .GroupBy(n => n.Size).Where(g => g.Count() > 1).SelectMany(g => g).ToList();
        var digests = new string[candidates.Count];
        Parallel.For(0, candidates.Count, new ParallelOptions { MaxDegreeOfParallelism = _options.Parallelism }, i =>
        {
            using var s = candidates[i].Content!.OpenRead();
            digests[i] = candidates[i].Size + ":" + Convert.ToHexString(SHA256.HashData(s));
        });
        var result = new Dictionary<FileNode, string>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < candidates.Count; i++) result[candidates[i]] = digests[i];
        return result;
    }

    private static InodeType BasicTypeOf(FileNode n) => n.Type switch
    {
        FileNodeType.Directory => InodeType.Dir,
        FileNodeType.File => InodeType.File,
        FileNodeType.Symlink => InodeType.Symlink,
        FileNodeType.BlockDevice => InodeType.BlockDev,
        FileNodeType.CharDevice => InodeType.CharDev,
        FileNodeType.Fifo => InodeType.Fifo,
        FileNodeType.Socket => InodeType.Socket,
        _ => throw new InvalidOperationException($"/{n.Path}: {n.Type} has no inode of its own"),
    };
}
