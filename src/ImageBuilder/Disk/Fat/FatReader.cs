// Reads a FAT32 volume back into a FileTree (long names, timestamps, read-only bit); file contents follow cluster chains on demand.
using System.Buffers.Binary;
using System.Text;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Disk.Fat;

/// <summary>Reads FAT32 volumes such as those <see cref="FatBuilder"/> writes. The stream must stay open while contents are read.</summary>
public sealed class FatReader
{
    private readonly Stream _volume;
    private readonly BootSector _boot;
    private readonly uint[] _fat;

    /// <summary>Reads the boot sector and the first FAT of the volume at offset 0 of <paramref name="volume"/>.</summary>
    public FatReader(Stream volume)
    {
        _volume = volume;
        var b = new byte[BootSector.SectorSize];
        volume.Position = 0;
        volume.ReadExactly(b);
        _boot = BootSector.Read(b);
        long entries = _boot.ClusterCount + 2;
        var fatBytes = new byte[entries * 4];
        volume.Position = (long)_boot.ReservedSectors * BootSector.SectorSize;
        volume.ReadExactly(fatBytes);
        _fat = new uint[entries];
        for (long i = 0; i < entries; i++) _fat[i] = BinaryPrimitives.ReadUInt32LittleEndian(fatBytes.AsSpan((int)(i * 4))) & 0x0FFFFFFF;
    }

    /// <summary>The volume label from the boot sector.</summary>
    public string VolumeLabel => _boot.VolumeLabel;
    /// <summary>The volume serial number.</summary>
    public uint VolumeSerial => _boot.VolumeId;
    /// <summary>Bytes per cluster.</summary>
    public int ClusterBytes => _boot.ClusterBytes;
    /// <summary>The number of data clusters.</summary>
    public long ClusterCount => _boot.ClusterCount;

    /// <summary>Reads the directory tree. Modes are 0755 for directories and 0644 (0444 when read-only) for files.</summary>
    public FileTree ReadTree()
    {
        var tree = new FileTree();
        var stack = new Stack<(string Path, uint Cluster)>();
        stack.Push(("", _boot.RootCluster));
        while (stack.Count > 0)
        {
            var (dirPath, cluster) = stack.Pop();
            var data = ReadChain(cluster, long.MaxValue, $"directory /{dirPath}");
            foreach (var (name, e) in Entries(data, dirPath))
            {
                string path = dirPath.Length == 0 ? name : dirPath + "/" + name;
                long mtime = ToUnix(e.Date, e.Time);
                if ((e.Attributes & FatAttributes.Directory) != 0)
                {
                    tree.AddDirectory(path, mtime: mtime);
                    stack.Push((path, e.Cluster));
                }
                else
                {
                    int mode = (e.Attributes & FatAttributes.ReadOnly) != 0 ? 0b100_100_100 : 0b110_100_100;
                    tree.AddFile(path, new FatFileContent(this, e.Cluster, e.Size, path), mode, mtime: mtime);
                }
            }
        }
        return tree;
    }

    private IEnumerable<(string Name, ShortEntry Entry)> Entries(byte[] data, string dirPath)
    {
        var parts = new SortedDictionary<int, string>();
        int expectOrd = 0;
        byte checksum = 0;
        for (int off = 0; off + 32 <= data.Length; off += 32)
        {
            var e = data.AsSpan(off, 32);
            if (e[0] == 0x00) yield break;
            if (e[0] == 0xE5) { parts.Clear(); continue; }
            var attr = (FatAttributes)e[11];
            if ((attr & FatAttributes.LongName) == FatAttributes.LongName)
            {
                var (ord, sum, part) = LongNameEntry.Read(e);
                if ((ord & 0x40) != 0) { parts.Clear(); expectOrd = ord & 0x3F; checksum = sum; }
                else if (sum != checksum || (ord & 0x3F) != expectOrd)
                    throw new InvalidDataException($"FAT directory /{dirPath}: long name entry at byte {off} is out of sequence");
                parts[ord & 0x3F] = part;
                expectOrd = (ord & 0x3F) - 1;
                continue;
            }
            var se = ShortEntry.Read(e);
            if ((attr & FatAttributes.VolumeId) != 0 || e[0] == (byte)'.') { parts.Clear(); continue; }
            string name;
            if (parts.Count > 0)
            {
                if (ShortEntry.Checksum(se.Name) != checksum || expectOrd != 0)
                    throw new InvalidDataException($"FAT directory /{dirPath}: long name before byte {off} does not match its short entry (checksum)");
                name = string.Concat(parts.Values);
            }
            else name = ShortName(se.Name, e[12]);
            parts.Clear();
            yield return (name, se);
        }
    }

    private static string ShortName(byte[] raw, byte ntRes)
    {
        var n = (byte[])raw.Clone();
        if (n[0] == 0x05) n[0] = 0xE5;
        string b = Encoding.Latin1.GetString(n, 0, 8).TrimEnd(), x = Encoding.Latin1.GetString(n, 8, 3).TrimEnd();
        if ((ntRes & 0x08) != 0) b = b.ToLowerInvariant();
        if ((ntRes & 0x10) != 0) x = x.ToLowerInvariant();
        return x.Length > 0 ? b + "." + x : b;
    }

    private static long ToUnix(ushort date, ushort time)
    {
        int y = 1980 + (date >> 9), mo = Math.Clamp((date >> 5) & 0xF, 1, 12), d = Math.Clamp(date & 0x1F, 1, 31);
        int h = Math.Min(time >> 11, 23), mi = Math.Min((time >> 5) & 0x3F, 59), s = Math.Min((time & 0x1F) * 2, 59);
        d = Math.Min(d, DateTime.DaysInMonth(y, mo));
        return new DateTimeOffset(y, mo, d, h, mi, s, TimeSpan.Zero).ToUnixTimeSeconds();
    }

    /// <summary>The clusters of a chain, checked against loops and out-of-range links.</summary>
    internal List<uint> Chain(uint first, string what)
    {
        var list = new List<uint>();
        uint c = first;
        while (c >= 2 && c < 0x0FFFFFF8)
        {
            if (c >= _fat.Length) throw new InvalidDataException($"FAT: {what} links to cluster {c}, past the last cluster {_fat.Length - 1}");
            if (list.Count > _fat.Length) throw new InvalidDataException($"FAT: {what} has a cluster chain loop");
            list.Add(c);
            c = _fat[c];
        }
        return list;
    }

    internal long ClusterOffset(uint cluster) => _boot.FirstDataSector * BootSector.SectorSize + (long)(cluster - 2) * _boot.ClusterBytes;

    private byte[] ReadChain(uint first, long limit, string what)
    {
        var chain = Chain(first, what);
        var data = new byte[Math.Min(limit, (long)chain.Count * ClusterBytes)];
        for (int i = 0; i < chain.Count && (long)i * ClusterBytes < data.Length; i++)
        {
            _volume.Position = ClusterOffset(chain[i]);
            _volume.ReadExactly(data.AsSpan(i * ClusterBytes, (int)Math.Min(ClusterBytes, data.Length - (long)i * ClusterBytes)));
        }
        return data;
    }

    private sealed class FatFileContent(FatReader fs, uint first, uint size, string path) : FileContent
    {
        public override long Length => size;

        public override IFileContentReader Open() => new Reader(fs, size == 0 ? [] : fs.Chain(first, "/" + path), size, path);

        private sealed class Reader(FatReader fs, List<uint> chain, long size, string path) : IFileContentReader
        {
            public void ReadExactly(long offset, Span<byte> buffer)
            {
                if (offset + buffer.Length > size) throw new EndOfStreamException($"read past the end of /{path}");
                int cb = fs.ClusterBytes;
                while (buffer.Length > 0)
                {
                    int index = (int)(offset / cb), within = (int)(offset % cb);
                    if (index >= chain.Count) throw new InvalidDataException($"FAT: /{path} is {size} bytes but its chain has only {chain.Count} clusters");
                    int n = Math.Min(buffer.Length, cb - within);
                    lock (fs._volume)
                    {
                        fs._volume.Position = fs.ClusterOffset(chain[index]) + within;
                        fs._volume.ReadExactly(buffer[..n]);
                    }
                    buffer = buffer[n..];
                    offset += n;
                }
            }

            public void Dispose() { }
        }
    }
}
