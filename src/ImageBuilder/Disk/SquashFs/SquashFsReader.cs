// Reads a SquashFS 4.0 image back into a FileTree whose file contents are decompressed on demand.
using System.Buffers.Binary;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Disk.SquashFs;

/// <summary>
/// Reads SquashFS 4.0 images (zstd or gzip), such as those <see cref="SquashFsBuilder"/> writes. The stream must stay
/// open while file contents of the returned tree are read.
/// </summary>
public sealed class SquashFsReader
{
    private readonly Stream _image;
    private readonly SuperBlock _sb;
    private readonly BlockCodec _codec;
    private readonly Dictionary<long, (byte[], long)> _inodeCache = [];
    private readonly Dictionary<long, (byte[], long)> _dirCache = [];
    private readonly Dictionary<long, (byte[], long)> _xattrCache = [];
    private readonly uint[] _ids;
    private readonly (ulong Start, uint SizeWord)[] _fragments;

    /// <summary>Reads the superblock and the id and fragment tables of <paramref name="image"/> (image starts at offset 0).</summary>
    public SquashFsReader(Stream image)
    {
        _image = image;
        var b = new byte[SuperBlock.Size];
        image.Position = 0;
        image.ReadExactly(b);
        _sb = SuperBlock.Read(b);
        if (_sb.Compression is not (SquashFsCompression.Zstd or SquashFsCompression.Gzip))
            throw new InvalidDataException($"squashfs compression id {(ushort)_sb.Compression} is not supported (only gzip and zstd)");
        _codec = new BlockCodec(_sb.Compression, 3);
        var idBytes = ReadIndexed(_sb.IdTableStart, _sb.IdCount * 4);
        _ids = Enumerable.Range(0, _sb.IdCount).Select(i => BinaryPrimitives.ReadUInt32LittleEndian(idBytes.AsSpan(i * 4))).ToArray();
        var fragBytes = ReadIndexed(_sb.FragmentTableStart, (int)_sb.FragmentCount * 16);
        _fragments = Enumerable.Range(0, (int)_sb.FragmentCount).Select(i =>
            (BinaryPrimitives.ReadUInt64LittleEndian(fragBytes.AsSpan(i * 16)), BinaryPrimitives.ReadUInt32LittleEndian(fragBytes.AsSpan(i * 16 + 8)))).ToArray();
    }

    /// <summary>The data block size.</summary>
    public int BlockSize => (int)_sb.BlockSize;
    /// <summary>The compressor.</summary>
    public SquashFsCompression Compression => _sb.Compression;
    /// <summary>The number of inodes.</summary>
    public long InodeCount => _sb.InodeCount;
    /// <summary>The bytes the file system uses (before padding).</summary>
    public long BytesUsed => (long)_sb.BytesUsed;
    /// <summary>The superblock modification time.</summary>
    public long ModificationTime => _sb.ModificationTime;

    /// <summary>Reads the whole directory tree; file contents are read from the image when opened.</summary>
    public FileTree ReadTree()
    {
        var tree = new FileTree();
        var rootRef = _sb.RootInode;
        var root = ReadInode((long)(rootRef >> 16), (int)(rootRef & 0xFFFF));
        if (root.BasicType != InodeType.Dir) throw new InvalidDataException($"squashfs root inode is of type {root.Type}, not a directory");
        Apply(tree.Root, root);
        var seen = new Dictionary<uint, string>();
        var stack = new Stack<(FileNode Node, Inode Inode)>();
        stack.Push((tree.Root, root));
        while (stack.Count > 0)
        {
            var (dirNode, dirInode) = stack.Pop();
            var r = new MetadataReader(_image, _codec, (long)_sb.DirectoryTableStart, _dirCache, dirInode.DirBlock, dirInode.DirOffset);
            var entries = DirectoryListing.Read(r, Math.Max(0, (long)dirInode.DirSize - 3));
            foreach (var e in entries)
            {
                string path = dirNode.Path.Length == 0 ? e.Name : dirNode.Path + "/" + e.Name;
                if (seen.TryGetValue(e.InodeNumber, out var first))
                {
                    tree.AddHardLink(path, first);
                    continue;
                }
                var ino = ReadInode(e.InodeBlock, e.InodeOffset);
                FileNode node = ino.BasicType switch
                {
                    InodeType.Dir => tree.AddDirectory(path),
                    InodeType.File => tree.AddFile(path, new SquashFsFileContent(this, ino)),
                    InodeType.Symlink => tree.AddSymlink(path, ino.TargetText),
                    InodeType.CharDev or InodeType.BlockDev => AddDevice(tree, path, ino),
                    InodeType.Fifo => tree.AddSpecial(path, FileNodeType.Fifo),
                    InodeType.Socket => tree.AddSpecial(path, FileNodeType.Socket),
                    _ => throw new InvalidDataException($"squashfs inode {ino.Number}: unexpected type {ino.Type}"),
                };
                Apply(node, ino);
                if (ino.BasicType != InodeType.Dir && ino.LinkCount > 1) seen[e.InodeNumber] = path;
                if (ino.BasicType == InodeType.Dir) stack.Push((node, ino));
            }
        }
        return tree;
    }

    private static FileNode AddDevice(FileTree tree, string path, Inode ino)
    {
        var (major, minor) = Inode.DecodeDevice(ino.Device);
        return tree.AddSpecial(path, ino.BasicType == InodeType.CharDev ? FileNodeType.CharDevice : FileNodeType.BlockDevice, 0, major, minor);
    }

    private void Apply(FileNode node, Inode ino)
    {
        node.Mode = ino.Mode & 0xFFF;
        node.Uid = (int)Id(ino.UidIndex, ino.Number);
        node.Gid = (int)Id(ino.GidIndex, ino.Number);
        node.MTime = ino.MTime;
        if (ino.XattrIndex != Inode.NoXattr)
            foreach (var (k, v) in XattrTable.Read(_image, _codec, _sb.XattrIdTableStart, ino.XattrIndex, _xattrCache)) node.Xattrs[k] = v;
    }

    private uint Id(ushort index, uint inode) => index < _ids.Length ? _ids[index]
        : throw new InvalidDataException($"squashfs inode {inode}: id index {index} is past the {_ids.Length} ids of the id table");

    private Inode ReadInode(long block, int offset)
    {
        lock (_image)
        {
            var r = new MetadataReader(_image, _codec, (long)_sb.InodeTableStart, _inodeCache, block, offset);
            return Inode.Read(r, _sb.BlockSize);
        }
    }

    /// <summary>Reads a table stored as metadata blocks behind a u64 lookup array at <paramref name="lookup"/>.</summary>
    private byte[] ReadIndexed(ulong lookup, int bytes)
    {
        if (bytes == 0) return [];
        int blocks = (bytes + MetadataWriter.BlockSize - 1) / MetadataWriter.BlockSize;
        var loc = new byte[8 * blocks];
        _image.Position = (long)lookup;
        _image.ReadExactly(loc);
        var r = new MetadataReader(_image, _codec, 0, [], (long)BinaryPrimitives.ReadUInt64LittleEndian(loc), 0);
        return r.ReadBytes(bytes);
    }

    /// <summary>Reads and decompresses one data or fragment block.</summary>
    internal byte[] ReadBlock(ulong start, uint sizeWord, int expected)
    {
        int size = (int)(sizeWord & 0xFFFFFF);
        if (size > _sb.BlockSize) throw new InvalidDataException($"squashfs block at byte {start}: stored size {size} exceeds the block size {_sb.BlockSize}");
        var raw = new byte[size];
        lock (_image)
        {
            _image.Position = (long)start;
            _image.ReadExactly(raw);
        }
        if ((sizeWord & DataWriter.UncompressedBit) != 0) return raw;
        var data = new byte[_sb.BlockSize];
        int n = _codec.Decompress(raw, data);
        if (n < expected) throw new InvalidDataException($"squashfs block at byte {start}: decompressed to {n} bytes, expected {expected}");
        return data;
    }

    internal (ulong Start, uint SizeWord) Fragment(uint index) => index < _fragments.Length ? _fragments[index]
        : throw new InvalidDataException($"squashfs fragment index {index} is past the {_fragments.Length} fragments");

    /// <summary>How many of a file's blocks are stored sparse (all zeros, no data); -1 if the content is not from a squashfs image.</summary>
    public static int SparseBlockCount(FileContent content) =>
        content is SquashFsFileContent f ? f.Inode.BlockSizes.Count(w => (w & 0xFFFFFF) == 0) : -1;

    private sealed class SquashFsFileContent(SquashFsReader fs, Inode ino) : FileContent
    {
        public Inode Inode => ino;

        public override long Length => (long)ino.FileSize;

        public override IFileContentReader Open() => new Reader(fs, ino);

        private sealed class Reader(SquashFsReader fs, Inode ino) : IFileContentReader
        {
            private readonly long[] _starts = Starts(ino);
            private long _cachedIndex = -1;
            private byte[] _cached = [];

            private static long[] Starts(Inode ino)
            {
                var s = new long[ino.BlockSizes.Length];
                long pos = (long)ino.BlocksStart;
                for (int i = 0; i < s.Length; i++) { s[i] = pos; pos += ino.BlockSizes[i] & 0xFFFFFF; }
                return s;
            }

            public void ReadExactly(long offset, Span<byte> buffer)
            {
                int bs = fs.BlockSize;
                if (offset + buffer.Length > (long)ino.FileSize) throw new EndOfStreamException($"read past the end of squashfs inode {ino.Number}");
                while (buffer.Length > 0)
                {
                    long index = offset / bs;
                    int within = (int)(offset % bs);
                    int n = (int)Math.Min(buffer.Length, Math.Min(bs - within, (long)ino.FileSize - offset));
                    Block(index).AsSpan(within, n).CopyTo(buffer);
                    buffer = buffer[n..];
                    offset += n;
                }
            }

            private byte[] Block(long index)
            {
                if (index == _cachedIndex) return _cached;
                int bs = fs.BlockSize;
                int expected = (int)Math.Min(bs, (long)ino.FileSize - index * bs);
                if (index < ino.BlockSizes.Length)
                {
                    uint word = ino.BlockSizes[index];
                    _cached = (word & 0xFFFFFF) == 0 ? new byte[bs] : fs.ReadBlock((ulong)_starts[index], word, expected);
                }
                else
                {
                    if (ino.FragmentIndex == Inode.NoFragment) throw new InvalidDataException($"squashfs inode {ino.Number}: block {index} has no data");
                    var (start, word) = fs.Fragment(ino.FragmentIndex);
                    var frag = fs.ReadBlock(start, word, (int)ino.FragmentOffset + expected);
                    _cached = frag.AsSpan((int)ino.FragmentOffset, expected).ToArray();
                }
                _cachedIndex = index;
                return _cached;
            }

            public void Dispose() { }
        }
    }
}
