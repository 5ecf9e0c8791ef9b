// Writes an ISO 9660 image with Rock Ridge, El Torito and an optional isohybrid MBR/GPT, in one pass after planning.
using System.Security.Cryptography;
using Appliance.ImageBuilder.Disk.Common;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Disk.Iso9660;

/// <summary>
/// Builds ISO 9660 images from a <see cref="FileTree"/>: level 2 identifiers with the real names, modes, owners, times,
/// symlinks, devices and hard links in Rock Ridge (RRIP 1.12), El Torito no-emulation boot entries, and optionally the
/// xorriso isohybrid layout (MBR + GPT) so the same file boots from a USB stick. See README.md.
/// </summary>
public static class IsoWriter
{
    /// <summary>Builds the image into a new file at <paramref name="path"/> (temporary file + rename; sparse).</summary>
    /// <exception cref="ArgumentException">The options or the tree cannot be written (the message says what and where).</exception>
    public static IsoResult Build(FileTree tree, IsoOptions options, string path)
    {
        var layout = IsoPlanner.Plan(tree, options);
        ValidateHybrid(options);
        return ImageFileStream.WriteFile(path, options.Durable, output => Write(tree, layout, output));
    }

    /// <summary>Builds the image into <paramref name="output"/> (seekable, empty or all zeros).</summary>
    public static IsoResult Build(FileTree tree, IsoOptions options, Stream output)
    {
        var layout = IsoPlanner.Plan(tree, options);
        ValidateHybrid(options);
        return Write(tree, layout, output);
    }

    private static void ValidateHybrid(IsoOptions options)
    {
        if (options.Hybrid?.MbrBootCode is { Length: > HybridSystemArea.BootCodeSize } code)
            throw new ArgumentException($"isohybrid MBR boot code is {code.Length} bytes; at most {HybridSystemArea.BootCodeSize} (the first 432 bytes of isohdpfx.bin)", nameof(IsoOptions.Hybrid));
    }

    private static IsoResult Write(FileTree tree, IsoLayout layout, Stream output)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var block = new byte[IsoLayout.BlockSize];
        void Put(long lba, ReadOnlySpan<byte> bytes)
        {
            output.Position = lba * IsoLayout.BlockSize;
            output.Write(bytes);
            hash.AppendData(bytes);
        }

        // Volume descriptors.
        var root = layout.Dirs[0];
        var rootRecord = new byte[34];
        DirectoryRecord.Write(rootRecord, 34, [0], root.Lba, root.Blocks * (uint)IsoLayout.BlockSize, root.Node.MTime, DirectoryRecord.FlagDirectory);
        VolumeDescriptor.WritePrimary(block, layout.Options.VolumeId, (uint)layout.TotalBlocks, layout.PathTableSize,
            layout.LPathLba, layout.MPathLba, rootRecord, layout.Options.SourceDateEpoch);
        uint lba = IsoLayout.PvdLba;
        Put(lba++, block);
        if (layout.Options.BootEntries.Count > 0)
        {
            VolumeDescriptor.WriteBootRecord(block, layout.CatalogLba);
            Put(lba++, block);
        }
        VolumeDescriptor.WriteTerminator(block);
        Put(lba, block);

        // Path tables.
        var table = new byte[layout.PathTableBlocks * IsoLayout.BlockSize];
        foreach (bool big in new[] { false, true })
        {
            Array.Clear(table);
            int at = 0;
            foreach (var d in layout.Dirs)
                at += PathTable.Write(table.AsSpan(at), d.Name?.Bytes ?? [0], d.Lba, (ushort)(d.Parent?.Number ?? 1), big);
            Put(big ? layout.MPathLba : layout.LPathLba, table);
        }

        // Directories and their continuation areas.
        var ce = new byte[layout.CeBlocks * IsoLayout.BlockSize];
        foreach (var d in layout.Dirs)
        {
            var extent = new byte[d.Blocks * IsoLayout.BlockSize];
            int r = 0;
            foreach (var (id, susp, entry, part) in IsoPlanner.Records(layout, d))
            {
                var plan = d.Records[r];
                var (extentLba, length, flags, mtime) = RecordTarget(layout, d, entry, part);
                var rec = extent.AsSpan(plan.Offset, plan.Size);
                int at = DirectoryRecord.Write(rec, plan.Size, id, extentLba, length, mtime, flags);
                for (int i = 0; i < plan.Inline; i++) { susp[i].CopyTo(rec[at..]); at += susp[i].Length; }
                Span<byte> ceSlot = plan.Areas.Count > 0 ? rec.Slice(at, RockRidge.CeSize) : default;
                foreach (var area in plan.Areas)
                {
                    var a = ce.AsSpan(area.Block * IsoLayout.BlockSize + area.Offset, area.Length);
                    RockRidge.WriteCe(ceSlot, layout.CeLba + (uint)area.Block, (uint)area.Offset, (uint)area.Length);
                    int o = 0;
                    for (int i = area.First; i < area.First + area.Count; i++) { susp[i].CopyTo(a[o..]); o += susp[i].Length; }
                    ceSlot = o < area.Length ? a.Slice(o, RockRidge.CeSize) : default;
                }
                r++;
            }
            Put(d.Lba, extent);
        }
        if (ce.Length > 0) Put(layout.CeLba, ce);

        // Boot catalog.
        if (layout.Boot.Count > 0)
        {
            BootCatalog.Write(block, layout.Boot);
            Put(layout.CatalogLba, block);
        }

        // File data: holes are skipped (the output stays sparse), everything else streamed.
        var extents = new Dictionary<string, IsoExtent>(StringComparer.Ordinal);
        foreach (var f in layout.DataFiles) WriteData(f, layout.DataLba[f] * IsoLayout.BlockSize, output, hash);
        foreach (var (node, sum) in layout.BootInfoChecksums)
        {
            long at = layout.DataLba[node];
            var info = BootCatalog.InfoTable(IsoLayout.PvdLba, (uint)at, (uint)node.Size, sum);
            output.Position = at * IsoLayout.BlockSize + BootCatalog.InfoTableOffset;
            output.Write(info);
            hash.AppendData(info);
        }
        foreach (var n in tree.Walk())
            if (n.Inode.Type == FileNodeType.File)
                extents[n.Path] = new IsoExtent(layout.DataLba.GetValueOrDefault(n.Inode), n.Inode.Size);

        long size = layout.TotalBlocks * IsoLayout.BlockSize;
        if (output.Length < size) output.SetLength(size);
        Guid? diskGuid = null;
        if (layout.Options.Hybrid is { } hybrid)
        {
            var seed = layout.Options.IdentitySeed ?? hash.GetHashAndReset();
            diskGuid = HybridSystemArea.Write(layout, hybrid, seed, output);
        }
        return new IsoResult(size, extents, layout.Boot.Count > 0 ? layout.CatalogLba : null, diskGuid);
    }

    /// <summary>The extent, data length, flags and time of a record: "." (part 0) and ".." (part 1) without an entry, or part <paramref name="part"/> of an entry.</summary>
    private static (uint Lba, uint Length, byte Flags, long MTime) RecordTarget(IsoLayout layout, IsoLayout.Dir d, IsoLayout.Entry? e, int part)
    {
        const uint block = IsoLayout.BlockSize;
        if (e is null)
        {
            var x = part == 0 ? d : d.Parent ?? d;
            return (x.Lba, x.Blocks * block, DirectoryRecord.FlagDirectory, x.Node.MTime);
        }
        if (e.Dir != null) return (e.Dir.Lba, e.Dir.Blocks * block, DirectoryRecord.FlagDirectory, e.Dir.Node.MTime);
        if (e.Node is null) return (layout.CatalogLba, block, 0, layout.Options.SourceDateEpoch);
        var inode = e.Node.Inode;
        if (inode.Type != FileNodeType.File || inode.Size == 0) return (0, 0, 0, inode.MTime);
        long start = layout.DataLba[inode];
        int count = IsoPlanner.ExtentCount(inode.Size);
        if (count == 1) return ((uint)start, (uint)inode.Size, 0, inode.MTime);
        long offset = part * IsoLayout.ExtentMax;
        long length = Math.Min(IsoLayout.ExtentMax, inode.Size - offset);
        return ((uint)(start + offset / IsoLayout.BlockSize), (uint)length, part < count - 1 ? DirectoryRecord.FlagMultiExtent : (byte)0, inode.MTime);
    }

    private static void WriteData(FileNode file, long offset, Stream output, IncrementalHash hash)
    {
        var content = file.Content!;
        using var reader = content.Open();
        foreach (var range in content.GetDataRanges())
        {
            long at = range.Offset;
            output.Position = offset + at;
            while (at < range.End)
            {
                int want = (int)Math.Min(1 << 20, range.End - at);
                if (output is ImageFileStream image)
                {
                    var span = image.GetSpan(want);
                    reader.ReadExactly(at, span);
                    hash.AppendData(span);
                    image.Advance(span.Length);
                    at += span.Length;
                }
                else
                {
                    var buf = new byte[want];
                    reader.ReadExactly(at, buf);
                    hash.AppendData(buf);
                    output.Write(buf);
                    at += want;
                }
            }
        }
    }
}
