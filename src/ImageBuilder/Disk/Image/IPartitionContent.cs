// What a partition holds: something that writes itself into a window of the disk image.
using Appliance.ImageBuilder.Disk.Fat;
using Appliance.ImageBuilder.Disk.SquashFs;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Disk.Image;

/// <summary>Where a partition sits, for content that records it (FAT's hidden-sector count).</summary>
public sealed record PartitionPlacement(long FirstLba, long Capacity, bool CapacityIsFixed);

/// <summary>Content written into one partition.</summary>
public interface IPartitionContent
{
    /// <summary>
    /// Writes the content at offset 0 of <paramref name="target"/> (seekable, zero where not written, at most
    /// <see cref="PartitionPlacement.Capacity"/> bytes) and returns the number of bytes it occupies.
    /// </summary>
    long WriteTo(Stream target, PartitionPlacement placement);
}

/// <summary>A FAT32 file system filling the whole partition (which must have a fixed size).</summary>
public sealed class FatPartitionContent(FileTree tree, FatOptions? options = null) : IPartitionContent
{
    /// <inheritdoc/>
    public long WriteTo(Stream target, PartitionPlacement placement)
    {
        if (!placement.CapacityIsFixed) throw new ArgumentException("a FAT partition needs a fixed size");
        var o = options ?? new FatOptions();
        var withOffset = new FatOptions
        {
            VolumeLabel = o.VolumeLabel, VolumeSerial = o.VolumeSerial, SectorsPerCluster = o.SectorsPerCluster,
            HiddenSectors = (uint)placement.FirstLba,
        };
        new FatBuilder(tree, placement.Capacity, withOffset).Build(target);
        return placement.Capacity;
    }
}

/// <summary>A SquashFS image; the partition may be sized to fit it.</summary>
public sealed class SquashFsPartitionContent(FileTree tree, SquashFsOptions? options = null) : IPartitionContent
{
    /// <inheritdoc/>
    public long WriteTo(Stream target, PartitionPlacement placement) => new SquashFsBuilder(tree, options).Build(target);
}

/// <summary>The bytes of an existing file (for example a prebuilt image), copied sparsely.</summary>
public sealed class RawPartitionContent(FileContent content) : IPartitionContent
{
    /// <inheritdoc/>
    public long WriteTo(Stream target, PartitionPlacement placement)
    {
        if (content.Length > placement.Capacity) throw new InvalidDataException($"{content.Length} bytes do not fit a {placement.Capacity}-byte partition");
        using var reader = content.Open();
        var buf = new byte[1 << 20];
        foreach (var r in content.GetDataRanges())
            for (long off = r.Offset; off < r.End; off += buf.Length)
            {
                int n = (int)Math.Min(buf.Length, r.End - off);
                reader.ReadExactly(off, buf.AsSpan(0, n));
                target.Position = off;
                target.Write(buf, 0, n);
            }
        return content.Length;
    }
}
