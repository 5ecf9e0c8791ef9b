// One planned partition of a disk image: name, type, size rule and the content written into it.
using Appliance.ImageBuilder.Disk.Fat;
using Appliance.Common.Disk.Gpt;
using Appliance.Common.Disk.Mbr;
using Appliance.ImageBuilder.Disk.SquashFs;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Disk.Image;

/// <summary>
/// A partition to create. Its size is <see cref="Size"/> if set, else that of <see cref="SameSizeAs"/>,
/// else just enough for its content (rounded up to the plan's alignment).
/// </summary>
public sealed class PartitionSpec
{
    /// <summary>The partition name (GPT name, at most 36 characters); also how later steps find it ("boot", "root-a").</summary>
    public required string Name { get; init; }

    /// <summary>The GPT type GUID (default: Linux filesystem).</summary>
    public Guid GptType { get; init; } = GptPartitionTypes.LinuxFilesystem;

    /// <summary>The MBR type byte (default 0x83, Linux).</summary>
    public byte MbrType { get; init; } = MbrPartition.Linux;

    /// <summary>Whether the MBR record is marked active (ignored for GPT).</summary>
    public bool Bootable { get; init; }

    /// <summary>The size in bytes (a multiple of 512); null to fit the content or follow <see cref="SameSizeAs"/>.</summary>
    public long? Size { get; init; }

    /// <summary>The name of an earlier partition whose final size this one takes.</summary>
    public string? SameSizeAs { get; init; }

    /// <summary>What is written into the partition; null leaves it empty (never written, so sparse).</summary>
    public IPartitionContent? Content { get; init; }

    /// <summary>A FAT32 EFI System Partition of a fixed size holding <paramref name="tree"/>.</summary>
    public static PartitionSpec EfiSystem(string name, long size, FileTree tree, string? volumeLabel = null) => new()
    {
        Name = name, Size = size, GptType = GptPartitionTypes.EfiSystem, MbrType = MbrPartition.Fat32Lba,
        Content = new FatPartitionContent(tree, new FatOptions { VolumeLabel = volumeLabel }),
    };

    /// <summary>A FAT32 data partition (MBR type 0x0c; GPT Microsoft basic data), as the Raspberry Pi boots from.</summary>
    public static PartitionSpec Fat(string name, long size, FileTree tree, string? volumeLabel = null) => new()
    {
        Name = name, Size = size, GptType = GptPartitionTypes.MicrosoftBasicData, MbrType = MbrPartition.Fat32Lba,
        Content = new FatPartitionContent(tree, new FatOptions { VolumeLabel = volumeLabel }),
    };

    /// <summary>A SquashFS partition holding <paramref name="tree"/>; sized to fit unless <paramref name="size"/> is given.</summary>
    public static PartitionSpec SquashFs(string name, FileTree tree, SquashFsOptions? options = null, long? size = null) => new()
    {
        Name = name, Size = size, Content = new SquashFsPartitionContent(tree, options),
    };

    /// <summary>An empty Linux partition of a fixed size, or the size of <paramref name="sameSizeAs"/>.</summary>
    public static PartitionSpec Empty(string name, long? size = null, string? sameSizeAs = null) => new()
    {
        Name = name, Size = size, SameSizeAs = sameSizeAs,
    };
}
