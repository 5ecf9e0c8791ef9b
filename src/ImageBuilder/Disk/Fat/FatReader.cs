// Reads a FAT32 volume back into a FileTree (long names, timestamps, read-only bit); file contents follow cluster chains on demand.
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Disk.Fat;

/// <summary>Reads FAT32 volumes such as those <see cref="FatBuilder"/> writes. The stream must stay open while contents are read.</summary>
public sealed class FatReader
{
    private readonly Stream _volume;
    private readonly BootSector _boot;
    private readonly FatTable _fat;

    /// <summary>Reads the boot sector and the first FAT of the volume at offset 0 of <paramref name="volume"/>.</summary>
    public FatReader(Stream volume)
    {
        _volume = volume;
        (_boot, _fat) = FatTable.Open(volume);
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
            foreach (var item in FatDirectory.Parse(data, dirPath))
            {
                var (name, e) = (item.Name, item.Entry);
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

    private static long ToUnix(ushort date, ushort time)
    {
        int y = 1980 + (date >> 9), mo = Math.Clamp((date >> 5) & 0xF, 1, 12), d = Math.Clamp(date & 0x1F, 1, 31);
        int h = Math.Min(time >> 11, 23), mi = Math.Min((time >> 5) & 0x3F, 59), s = Math.Min((time & 0x1F) * 2, 59);
        d = Math.Min(d, DateTime.DaysInMonth(y, mo));
        return new DateTimeOffset(y, mo, d, h, mi, s, TimeSpan.Zero).ToUnixTimeSeconds();
    }

    /// <summary>The clusters of a chain, checked against loops and out-of-range links.</summary>
    internal List<uint> Chain(uint first, string what) => _fat.Chain(first, what);

    internal long ClusterOffset(uint cluster) => _boot.ClusterOffset(cluster);

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
