// Writes a FileTree as a FAT32 volume: plan clusters and directory entries first, then stream reserved area, FATs and data.
using System.Security.Cryptography;
using System.Text;
using Appliance.ImageBuilder.Disk.Common;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Disk.Fat;

/// <summary>
/// Builds a FAT32 file system of a fixed size from a <see cref="FileTree"/> (Microsoft FAT specification, 2005).
/// Files and directories get contiguous cluster runs in tree order; unused space is never written.
/// Symlinks, devices, fifos and sockets cannot be stored and are rejected; a hard link becomes a second copy.
/// </summary>
public sealed class FatBuilder
{
    /// <summary>The largest file FAT32 can hold.</summary>
    public const long MaxFileSize = uint.MaxValue;
    /// <summary>The fewest sectors the specification allows for FAT32 (§3.5 table: "0 = error" below this).</summary>
    public const long MinSectors = 66600;
    private const int MaxDirectoryEntries = 65536;
    private const uint EndOfChain = 0x0FFFFFFF;
    private readonly FileTree _tree;
    private readonly long _size;
    private readonly FatOptions _options;

    /// <summary>Prepares a volume of <paramref name="sizeBytes"/> bytes holding <paramref name="tree"/>.</summary>
    public FatBuilder(FileTree tree, long sizeBytes, FatOptions? options = null)
    {
        _tree = tree;
        _size = sizeBytes;
        _options = options ?? new FatOptions();
    }

    /// <summary>Builds the volume into a new sparse file (temporary file + rename).</summary>
    /// <param name="path">The output file.</param>
    /// <param name="durable">Write around the page cache and fsync before the rename (the default); false leaves
    /// write-back to the kernel, as mkfs.vfat + mcopy do.</param>
    public void Build(string path, bool durable = true) =>
        ImageFileStream.WriteFile(path, durable, output => { Build(output); return 0; });

    private sealed class Alloc
    {
        public required FileNode Node;
        public uint Cluster;
        public uint Clusters;
    }

    /// <summary>
    /// Writes the volume at offset 0 of <paramref name="output"/>, which must read as zeros where not written:
    /// the data area first, in cluster order, then the FATs and the reserved area.
    /// </summary>
    public void Build(Stream output)
    {
        var boot = PlanGeometry();
        int clusterBytes = boot.ClusterBytes;

        // Plan: a cluster run for every directory and non-empty file, in tree order (root first, at cluster 2).
        var nodes = new List<Alloc>();
        var byNode = new Dictionary<FileNode, Alloc>(ReferenceEqualityComparer.Instance);
        uint next = 2;
        long maxClusters = boot.ClusterCount;
        foreach (var n in _tree.Walk())
        {
            Check(n);
            var a = new Alloc { Node = n };
            long bytes = n.Type == FileNodeType.Directory ? DirectoryEntryCount(n) * 32L : n.Inode.Size;
            a.Clusters = (uint)((bytes + clusterBytes - 1) / clusterBytes);
            if (n.Type == FileNodeType.Directory && a.Clusters == 0) a.Clusters = 1;
            if (a.Clusters > 0) { a.Cluster = next; next += a.Clusters; }
            if (next - 2 > maxClusters)
                throw new InvalidDataException($"FAT: the tree needs more than the {maxClusters} clusters of {clusterBytes} bytes a {_size}-byte volume has (ran out at /{n.Path})");
            nodes.Add(a);
            byNode[n] = a;
        }
        uint used = next - 2;
        long dataStart = boot.FirstDataSector * BootSector.SectorSize;

        // The volume serial hashes the tree's metadata and no file data, so it is made on another thread meanwhile.
        var serial = Task.Run(() => _options.VolumeSerial ?? DeriveSerial(NormalizeLabel(_options.VolumeLabel)));
        try
        {
            WriteData(output, nodes, byNode, dataStart, clusterBytes);
        }
        finally
        {
            ((IAsyncResult)serial).AsyncWaitHandle.WaitOne();
        }
        boot = boot with { VolumeId = serial.GetAwaiter().GetResult() };

        // Both FATs: only the used prefix is non-zero.
        var fat = new byte[(next) * 4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(fat, 0x0FFFFF00u | boot.Media);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(fat.AsSpan(4), EndOfChain);
        foreach (var a in nodes)
            for (uint k = 0; k < a.Clusters; k++)
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(fat.AsSpan((int)(a.Cluster + k) * 4),
                    k + 1 < a.Clusters ? a.Cluster + k + 1 : EndOfChain);
        for (int i = 0; i < boot.NumFats; i++)
        {
            output.Position = (boot.ReservedSectors + (long)i * boot.FatSize) * BootSector.SectorSize;
            output.Write(fat);
        }

        // Reserved area: boot sector, FSInfo, their backups at sectors 6 and 7.
        var reserved = new byte[boot.ReservedSectors * BootSector.SectorSize];
        boot.WriteTo(reserved);
        boot.WriteTo(reserved.AsSpan(boot.BackupBootSector * BootSector.SectorSize));
        var info = new FsInfoSector((uint)(boot.ClusterCount - used), next);
        info.WriteTo(reserved.AsSpan(boot.FsInfoSector * BootSector.SectorSize));
        info.WriteTo(reserved.AsSpan((boot.BackupBootSector + 1) * BootSector.SectorSize));
        // mkfs.fat and Windows put the boot signature at the end of sector 2 too (the third boot sector).
        reserved[2 * BootSector.SectorSize + 510] = 0x55; reserved[2 * BootSector.SectorSize + 511] = 0xAA;
        reserved[8 * BootSector.SectorSize + 510] = 0x55; reserved[8 * BootSector.SectorSize + 511] = 0xAA;
        output.Position = 0;
        output.Write(reserved);
        if (output.Length < _size) output.SetLength(_size);
    }

    /// <summary>
    /// Writes directories and files in cluster order. Into a <see cref="ImageFileStream"/>, file content is read
    /// straight into the image's chunk memory; other streams get it through a buffer.
    /// </summary>
    private void WriteData(Stream output, List<Alloc> nodes, Dictionary<FileNode, Alloc> byNode, long dataStart, int clusterBytes)
    {
        var direct = output as ImageFileStream;
        byte[]? buffer = null;
        foreach (var a in nodes)
        {
            if (a.Clusters == 0) continue;
            output.Position = dataStart + (long)(a.Cluster - 2) * clusterBytes;
            if (a.Node.Type == FileNodeType.Directory) { output.Write(SerializeDirectory(a, byNode, clusterBytes)); continue; }
            var content = a.Node.Inode.Content!;
            using var reader = content.Open();
            long len = content.Length;
            for (long off = 0; off < len;)
            {
                int want = (int)Math.Min(1 << 20, len - off);
                if (direct != null)
                {
                    var span = direct.GetSpan(want);
                    reader.ReadExactly(off, span);
                    direct.Advance(span.Length);
                    off += span.Length;
                }
                else
                {
                    buffer ??= new byte[1 << 20];
                    reader.ReadExactly(off, buffer.AsSpan(0, want));
                    output.Write(buffer, 0, want);
                    off += want;
                }
            }
        }
    }

    private BootSector PlanGeometry()
    {
        long sectors = _size / BootSector.SectorSize;
        if (sectors < MinSectors)
            throw new InvalidDataException($"FAT: a {_size}-byte volume is too small for FAT32 (the minimum is {MinSectors * BootSector.SectorSize} bytes)");
        if (sectors > uint.MaxValue) throw new InvalidDataException($"FAT: a {_size}-byte volume is larger than FAT32's 2 TiB limit");
        int spc = _options.SectorsPerCluster ?? (sectors <= 532480 ? 1 : sectors <= 16777216 ? 8 : sectors <= 33554432 ? 16 : sectors <= 67108864 ? 32 : 64);
        if (spc is < 1 or > 128 || (spc & (spc - 1)) != 0) throw new ArgumentException($"FAT: {spc} sectors per cluster is not a power of two up to 128");
        const int reserved = 32, fats = 2;
        // §3.5: FATSz = ceil((DskSize - RsvdSecCnt) / ((256 * SecPerClus + NumFATs) / 2)).
        long tmp2 = (256L * spc + fats) / 2;
        long fatSize = (sectors - reserved + tmp2 - 1) / tmp2;
        string label = NormalizeLabel(_options.VolumeLabel);
        var boot = new BootSector
        {
            SectorsPerCluster = (byte)spc, ReservedSectors = reserved, NumFats = fats, TotalSectors = (uint)sectors,
            FatSize = (uint)fatSize, HiddenSectors = _options.HiddenSectors, VolumeLabel = label.Length == 0 ? "NO NAME" : label,
            VolumeId = 0, // set by Build once the tree is hashed (DeriveSerial)
        };
        if (boot.ClusterCount < 65525)
            throw new InvalidDataException($"FAT: a {_size}-byte volume with {spc}-sector clusters has only {boot.ClusterCount} clusters; FAT32 needs at least 65525");
        return boot;
    }

    private static string NormalizeLabel(string? label)
    {
        if (string.IsNullOrEmpty(label)) return "";
        var up = label.ToUpperInvariant();
        if (up.Length > 11) throw new ArgumentException($"FAT volume label '{label}' is longer than 11 characters");
        foreach (var c in up)
            if (!(c is >= 'A' and <= 'Z' or >= '0' and <= '9' or ' ' || "$%'-_@~`!(){}^#&".Contains(c)))
                throw new ArgumentException($"FAT volume label '{label}' contains '{c}'");
        return up;
    }

    private uint DeriveSerial(string label)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(Encoding.UTF8.GetBytes($"{label}\n{_size}\n"));
        // The same bytes as hashing $"{n.Path}\0{n.Type}\0{n.Inode.Size}\0{n.MTime}\0{n.Mode}\n" per node, but each
        // path is built once from its parent's instead of walking up to the root for every node.
        var paths = new Dictionary<FileNode, string>(ReferenceEqualityComparer.Instance);
        var line = new StringBuilder();
        byte[] bytes = new byte[1024];
        foreach (var n in _tree.Walk())
        {
            string path = n.Parent is null ? "" : paths[n.Parent] is { Length: 0 } ? n.Name : paths[n.Parent] + "/" + n.Name;
            if (n.Type == FileNodeType.Directory) paths[n] = path;
            line.Clear().Append(path).Append('\0').Append(TypeName(n.Type)).Append('\0').Append(n.Inode.Size).Append('\0')
                .Append(n.MTime).Append('\0').Append(n.Mode).Append('\n');
            int max = Encoding.UTF8.GetMaxByteCount(line.Length);
            if (bytes.Length < max) bytes = new byte[max];
            int len = 0;
            foreach (var chunk in line.GetChunks()) len += Encoding.UTF8.GetBytes(chunk.Span, bytes.AsSpan(len));
            h.AppendData(bytes, 0, len);
        }
        return DerivedGuid.CreateUInt32(h.GetHashAndReset(), "fat-volume-serial");
    }

    private static string TypeName(FileNodeType t) =>
        t switch { FileNodeType.File => nameof(FileNodeType.File), FileNodeType.Directory => nameof(FileNodeType.Directory), _ => t.ToString() };

    private static void Check(FileNode n)
    {
        if (n.Parent != null && ShortNameGenerator.IllegalReason(n.Name) is { } why)
            throw new InvalidDataException($"FAT: the name of /{n.Path} {why}");
        var t = n.Inode.Type;
        if (t is not (FileNodeType.File or FileNodeType.Directory))
            throw new InvalidDataException($"FAT: /{n.Path} is a {t}; FAT32 stores only files and directories");
        if (n.Inode.Size > MaxFileSize)
            throw new InvalidDataException($"FAT: /{n.Path} is {n.Inode.Size} bytes; FAT32 files must be smaller than 4 GiB");
    }

    /// <summary>FAT looks names up without regard to case, so two names that differ only in case cannot share a directory.</summary>
    private static void CheckCaseCollisions(FileNode dir)
    {
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var c in dir.Children)
            if (!seen.TryAdd(c.Name, c.Name))
                throw new InvalidDataException($"FAT: /{c.Path} and the entry '{seen[c.Name]}' beside it differ only in case, which FAT cannot tell apart");
    }

    private static int LongNameEntries(string name) => (name.Length + LongNameEntry.CharsPerEntry - 1) / LongNameEntry.CharsPerEntry;

    /// <summary>An upper bound used for planning: every child may need long name entries.</summary>
    private int DirectoryEntryCount(FileNode dir)
    {
        CheckCaseCollisions(dir);
        int count = dir.Parent is null ? (NormalizeLabel(_options.VolumeLabel).Length > 0 ? 1 : 0) : 2;
        foreach (var c in dir.Children) count += 1 + LongNameEntries(c.Name);
        if (count > MaxDirectoryEntries)
            throw new InvalidDataException($"FAT: directory /{dir.Path} needs {count} entries; a FAT directory holds at most {MaxDirectoryEntries}");
        return count;
    }

    private byte[] SerializeDirectory(Alloc a, Dictionary<FileNode, Alloc> byNode, int clusterBytes)
    {
        var dir = a.Node;
        var buf = new byte[a.Clusters * clusterBytes];
        int pos = 0;
        var names = new ShortNameGenerator();
        var (ddate, dtime) = ShortEntry.Timestamp(dir.MTime);
        if (dir.Parent is null)
        {
            var label = NormalizeLabel(_options.VolumeLabel);
            if (label.Length > 0)
            {
                new ShortEntry(Encoding.ASCII.GetBytes(label.PadRight(11)), FatAttributes.VolumeId, 0, 0, ddate, dtime).WriteTo(buf.AsSpan(pos));
                pos += 32;
            }
        }
        else
        {
            uint parent = dir.Parent.Parent is null ? 0 : byNode[dir.Parent].Cluster;
            new ShortEntry(Encoding.ASCII.GetBytes(".          "), FatAttributes.Directory, a.Cluster, 0, ddate, dtime).WriteTo(buf.AsSpan(pos));
            new ShortEntry(Encoding.ASCII.GetBytes("..         "), FatAttributes.Directory, parent, 0, ddate, dtime).WriteTo(buf.AsSpan(pos + 32));
            names.Reserve(".          ");
            names.Reserve("..         ");
            pos += 64;
        }
        foreach (var c in dir.Children)
        {
            var (shortName, needsLong) = names.Generate(c.Name);
            if (shortName[0] == 0xE5) shortName[0] = 0x05;
            if (needsLong) pos += 32 * LongNameEntry.Write(c.Name, ShortEntry.Checksum(shortName), buf.AsSpan(pos));
            var target = byNode[c];
            var inode = c.Inode;
            var attrs = inode.Type == FileNodeType.Directory ? FatAttributes.Directory : FatAttributes.Archive;
            if ((inode.Mode & 0b010_010_010) == 0 && inode.Type == FileNodeType.File) attrs |= FatAttributes.ReadOnly;
            var (date, time) = ShortEntry.Timestamp(c.Inode.MTime);
            new ShortEntry(shortName, attrs, target.Cluster, inode.Type == FileNodeType.File ? (uint)inode.Size : 0, date, time).WriteTo(buf.AsSpan(pos));
            pos += 32;
        }
        return buf;
    }
}
