// Edits a FAT32 volume in place on its block device (the device kernel may have no vfat driver, and the host has none).
using System.Buffers.Binary;
using Appliance.Common.Disk.Fat;

namespace Appliance.Firstboot.Fat;

/// <summary>
/// The few in-place edits first boot makes to the boot partition: read a file by path (long names), cut a file short
/// and wipe every byte past the new end in its clusters before they are freed, and rename a directory entry. Each
/// edit is ordered so that a power cut between its writes leaves a volume <c>fsck.fat</c> accepts and the edit can be
/// repeated; every write is flushed to the device before the next.
/// </summary>
public sealed class FatEditor : IDisposable
{
    private readonly Stream _volume;
    private readonly BootSector _boot;
    private readonly FatTable _fat;

    /// <summary>Opens the volume at offset 0 of <paramref name="volume"/> (read-write, kept open until disposed).</summary>
    /// <exception cref="InvalidDataException">Not a FAT32 volume.</exception>
    public FatEditor(Stream volume)
    {
        _volume = volume;
        (_boot, _fat) = FatTable.Open(volume);
    }

    /// <summary>Opens the block device (or image file) at <paramref name="path"/>.</summary>
    public static FatEditor Open(string path, bool writable) =>
        new(new FileStream(path, FileMode.Open, writable ? FileAccess.ReadWrite : FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None));

    /// <summary>The volume label of the boot sector.</summary>
    public string VolumeLabel => _boot.VolumeLabel;

    /// <summary>Whether <paramref name="path"/> (slash-separated, case-insensitive as FAT is) exists.</summary>
    public bool Exists(string path) => Find(path) is not null;

    /// <summary>The names in directory <paramref name="path"/> ("" for the root); empty when it does not exist.</summary>
    public IReadOnlyList<string> List(string path)
    {
        uint cluster = _boot.RootCluster;
        if (path.Trim('/').Length > 0)
        {
            if (Find(path) is not { Item.IsDirectory: true } dir) return [];
            cluster = dir.Item.Entry.Cluster;
        }
        return FatDirectory.Parse(ReadChain(cluster, path), path).Select(i => i.Name).ToList();
    }

    /// <summary>The content of the file at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    public byte[] ReadFile(string path)
    {
        var f = FindFile(path);
        var data = new byte[f.Item.Entry.Size];
        var chain = _fat.Chain(f.Item.Entry.Cluster, path);
        int cb = _boot.ClusterBytes;
        for (int i = 0; (long)i * cb < data.Length; i++)
        {
            if (i >= chain.Count) throw new InvalidDataException($"FAT: /{path} is {data.Length} bytes but its chain has {chain.Count} clusters");
            _volume.Position = _boot.ClusterOffset(chain[i]);
            _volume.ReadExactly(data.AsSpan(i * cb, Math.Min(cb, data.Length - i * cb)));
        }
        return data;
    }

    /// <summary>
    /// Cuts the file at <paramref name="path"/> to <paramref name="length"/> bytes and overwrites with zeros every byte
    /// of its clusters past that point (the slack of the last kept cluster and every cluster freed), so the removed
    /// bytes remain nowhere on the volume. Order: the directory entry's size first (the file no longer shows the
    /// bytes), then the zeros, then the clusters freed in every FAT. Repeating it with the same length after a cut at
    /// any point finishes the job, since the wipe covers the whole chain past the size, whatever the size says.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="length">Its new length, at most the current one.</param>
    /// <param name="reached">Told <c>size-cut</c> and <c>wiped</c> as those writes are on the device (for power-cut tests).</param>
    public void Truncate(string path, uint length, Action<string>? reached = null)
    {
        var f = FindFile(path);
        var e = f.Item.Entry;
        if (length > e.Size) throw new ArgumentOutOfRangeException(nameof(length), $"/{path} is {e.Size} bytes; cannot cut it to {length}");
        if (length != e.Size)
            WriteShortEntry(f, e with { Size = length });
        reached?.Invoke("size-cut");
        var chain = e.Cluster == 0 ? [] : _fat.Chain(e.Cluster, path);
        int cb = _boot.ClusterBytes;
        int keep = (int)((length + cb - 1) / cb);
        var zeros = new byte[cb];
        for (int i = 0; i < chain.Count; i++)
        {
            long from = i < keep ? length - (long)i * cb : 0;
            if (from >= cb) continue;
            _volume.Position = _boot.ClusterOffset(chain[i]) + from;
            _volume.Write(zeros, 0, (int)(cb - from));
        }
        Flush();
        reached?.Invoke("wiped");
        if (chain.Count > keep)
        {
            if (keep == 0) WriteShortEntry(f, e with { Size = 0, Cluster = 0 });
            else SetLink(chain[keep - 1], FatTable.EndOfChain);
            foreach (var c in chain.Skip(keep)) SetLink(c, 0);
            ForgetFreeCount();
            Flush();
        }
    }

    /// <summary>
    /// Gives the entry at <paramref name="path"/> the long name <paramref name="newName"/> in the same directory. The
    /// short entry (and so the long-name checksum) stays; the long-name entries are rewritten in place, in the slots
    /// just before the short entry, and slots left over in front are marked free. The new name may not need more
    /// long-name slots than the old one (a rename that only drops characters, such as a boot counter).
    /// </summary>
    public void Rename(string path, string newName)
    {
        var f = Find(path) ?? throw new FileNotFoundException($"FAT: /{path} not found", path);
        var siblings = FatDirectory.Parse(f.Directory, f.DirPath).ToList();
        if (siblings.Any(s => string.Equals(s.Name, newName, StringComparison.OrdinalIgnoreCase)))
            throw new IOException($"FAT: /{f.DirPath}/{newName} already exists");
        int oldSlots = (f.Item.ShortOffset - f.Item.FirstOffset) / ShortEntry.Size32;
        int newSlots = (newName.Length + LongNameEntry.CharsPerEntry - 1) / LongNameEntry.CharsPerEntry;
        if (newSlots > oldSlots)
            throw new IOException($"FAT: renaming /{path} to {newName} needs {newSlots} long-name entries; only {oldSlots} are in place");
        var span = new byte[oldSlots * ShortEntry.Size32];
        for (int k = 0; k < oldSlots - newSlots; k++)
        {
            span.AsSpan(k * ShortEntry.Size32, ShortEntry.Size32).Clear();
            span[k * ShortEntry.Size32] = FatDirectory.Deleted;
        }
        LongNameEntry.Write(newName, ShortEntry.Checksum(f.Item.Entry.Name), span.AsSpan((oldSlots - newSlots) * ShortEntry.Size32));
        WriteDirectoryBytes(f, f.Item.FirstOffset, span);
        Flush();
    }

    private sealed record Located(FatDirectoryItem Item, byte[] Directory, List<uint> DirChain, string DirPath);

    private Located FindFile(string path) =>
        Find(path) is { Item.IsDirectory: false } f ? f : throw new FileNotFoundException($"FAT: /{path} not found (or is a directory)", path);

    private Located? Find(string path)
    {
        var parts = path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        uint cluster = _boot.RootCluster;
        string dirPath = "";
        for (int i = 0; i < parts.Length; i++)
        {
            var chain = _fat.Chain(cluster, "directory /" + dirPath);
            var data = ReadClusters(chain);
            var item = FatDirectory.Parse(data, dirPath).FirstOrDefault(x => string.Equals(x.Name, parts[i], StringComparison.OrdinalIgnoreCase));
            if (item is null) return null;
            if (i == parts.Length - 1) return new Located(item, data, chain, dirPath);
            if (!item.IsDirectory) return null;
            cluster = item.Entry.Cluster;
            dirPath = dirPath.Length == 0 ? item.Name : dirPath + "/" + item.Name;
        }
        return null;
    }

    private byte[] ReadChain(uint first, string what) => ReadClusters(_fat.Chain(first, "directory /" + what));

    private byte[] ReadClusters(List<uint> chain)
    {
        int cb = _boot.ClusterBytes;
        var data = new byte[chain.Count * cb];
        for (int i = 0; i < chain.Count; i++)
        {
            _volume.Position = _boot.ClusterOffset(chain[i]);
            _volume.ReadExactly(data.AsSpan(i * cb, cb));
        }
        return data;
    }

    private void WriteShortEntry(Located f, ShortEntry entry)
    {
        // Rewrite only the fields the edit changes, keeping the entry's other bytes (case flags, creation time) as found.
        var raw = f.Directory.AsSpan(f.Item.ShortOffset, ShortEntry.Size32).ToArray();
        var fresh = new byte[ShortEntry.Size32];
        entry.WriteTo(fresh);
        const int clusterHi = 20, clusterLo = 26, size = 28;
        fresh.AsSpan(clusterHi, 2).CopyTo(raw.AsSpan(clusterHi));
        fresh.AsSpan(clusterLo, 2).CopyTo(raw.AsSpan(clusterLo));
        fresh.AsSpan(size, 4).CopyTo(raw.AsSpan(size));
        WriteDirectoryBytes(f, f.Item.ShortOffset, raw);
        Flush();
    }

    private void WriteDirectoryBytes(Located f, int offset, ReadOnlySpan<byte> bytes)
    {
        int cb = _boot.ClusterBytes;
        while (bytes.Length > 0)
        {
            int index = offset / cb, within = offset % cb, n = Math.Min(bytes.Length, cb - within);
            _volume.Position = _boot.ClusterOffset(f.DirChain[index]) + within;
            _volume.Write(bytes[..n]);
            bytes[..n].CopyTo(f.Directory.AsSpan(offset));
            bytes = bytes[n..];
            offset += n;
        }
    }

    private void SetLink(uint cluster, uint value)
    {
        var b = new byte[4];
        for (int copy = 0; copy < _boot.NumFats; copy++)
        {
            long at = ((long)_boot.ReservedSectors + (long)copy * _boot.FatSize) * BootSector.SectorSize + cluster * 4L;
            _volume.Position = at;
            _volume.ReadExactly(b);
            uint old = BinaryPrimitives.ReadUInt32LittleEndian(b);
            BinaryPrimitives.WriteUInt32LittleEndian(b, (old & ~FatTable.Mask) | (value & FatTable.Mask));
            _volume.Position = at;
            _volume.Write(b);
        }
        _fat.Links[cluster] = value & FatTable.Mask;
    }

    private void ForgetFreeCount()
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, FsInfoSector.Unknown);
        _volume.Position = (long)_boot.FsInfoSector * BootSector.SectorSize + FsInfoSector.FreeCountOffset;
        _volume.Write(b);
    }

    private void Flush()
    {
        if (_volume is FileStream fs) fs.Flush(flushToDisk: true);
        else _volume.Flush();
    }

    /// <inheritdoc/>
    public void Dispose() => _volume.Dispose();
}
