// The plan of a whole disk image: partition table kind, disk size, alignment and the partitions in order.
using Appliance.ImageBuilder.Disk.Fat;
using Appliance.Common.Disk.Gpt;
using Appliance.Common.Disk.Mbr;
using Appliance.ImageBuilder.Disk.SquashFs;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Disk.Image;

/// <summary>Which partition table a disk image gets.</summary>
public enum PartitionTableKind
{
    /// <summary>GUID partition table with a protective MBR (UEFI targets).</summary>
    Gpt,
    /// <summary>A classic MBR with up to four primary partitions (Raspberry Pi firmware).</summary>
    Mbr,
}

/// <summary>Everything <see cref="DiskImageBuilder"/> needs to write a disk image.</summary>
public sealed class DiskImagePlan
{
    /// <summary>1 MiB: where partitions start, as every current partitioning tool does.</summary>
    public const long DefaultAlignment = 1 << 20;

    /// <summary>The partition table (default GPT).</summary>
    public PartitionTableKind Table { get; init; } = PartitionTableKind.Gpt;

    /// <summary>
    /// The disk size in bytes; null makes the image end right after the last partition (plus the backup GPT's 33
    /// sectors on GPT), with no alignment padding.
    /// </summary>
    public long? Size { get; init; }

    /// <summary>Partition start and fitted-size alignment in bytes (default 1 MiB).</summary>
    public long Alignment { get; init; } = DefaultAlignment;

    /// <summary>
    /// The seed of the disk GUID, partition GUIDs and MBR disk signature. Null derives it from the bytes written,
    /// so the identifiers follow from the build inputs either way.
    /// </summary>
    public byte[]? IdentitySeed { get; init; }

    /// <summary>
    /// Hash the image as it is written: the result carries the SHA-256 of the whole image and of each partition with
    /// content, holes included, so signing needs no second pass over the file. Needs every size fixed and an
    /// <see cref="IdentitySeed"/> (the tables are written first).
    /// </summary>
    public bool Digests { get; init; }

    /// <summary>The partitions, in disk order (partition numbers 1, 2, …).</summary>
    public List<PartitionSpec> Partitions { get; init; } = [];

    /// <summary>
    /// The standard layout as an image carries it: <c>boot</c> (FAT32; an ESP on GPT, type 0x0c and active on MBR) and
    /// <c>root-a</c> (SquashFS of <paramref name="root"/>, sized to fit unless <paramref name="slotSize"/> is given). The
    /// image ends after root-a (and the backup GPT); root-b (root-a's size) and the data partition are made on the
    /// device's disk at first boot, so a disk image never carries the empty space of the second slot.
    /// </summary>
    public static DiskImagePlan BootAndRoot(FileTree boot, long bootSize, FileTree root, PartitionTableKind table = PartitionTableKind.Gpt,
        long? slotSize = null, long? diskSize = null, SquashFsOptions? rootOptions = null, byte[]? identitySeed = null, string bootLabel = "BOOT") =>
        BootAndRoot(boot, bootSize, new SquashFsPartitionContent(root, rootOptions), slotSize, table, diskSize, identitySeed, new FatOptions { VolumeLabel = bootLabel });

    /// <summary>
    /// The standard layout with root-a's content given (for example a SquashFS image already written, whose digest
    /// seeds the identifiers) and the boot volume's options (label, serial). <paramref name="diskSize"/> null ends the
    /// image after root-a. <paramref name="digests"/>: see <see cref="Digests"/>.
    /// </summary>
    public static DiskImagePlan BootAndRoot(FileTree boot, long bootSize, IPartitionContent root, long? slotSize, PartitionTableKind table,
        long? diskSize, byte[]? identitySeed, FatOptions bootOptions, bool digests = false) => new()
    {
        Table = table, Size = diskSize, IdentitySeed = identitySeed, Digests = digests,
        Partitions =
        [
            new PartitionSpec
            {
                Name = "boot", Size = bootSize, Bootable = table == PartitionTableKind.Mbr, MbrType = MbrPartition.Fat32Lba,
                GptType = table == PartitionTableKind.Gpt ? GptPartitionTypes.EfiSystem : GptPartitionTypes.MicrosoftBasicData,
                Content = new FatPartitionContent(boot, bootOptions),
            },
            new PartitionSpec { Name = "root-a", Size = slotSize, Content = root },
        ],
    };
}

/// <summary>Where one partition ended up.</summary>
public sealed record PartitionResult(int Number, string Name, long Offset, long Size, long ContentBytes, Guid? PartitionGuid, Guid? TypeGuid, byte MbrType)
{
    /// <summary>SHA-256 of the whole partition (holes as zeros) when the plan asked for <see cref="DiskImagePlan.Digests"/> and it has content.</summary>
    public byte[]? Sha256 { get; init; }
}

/// <summary>What <see cref="DiskImageBuilder"/> wrote.</summary>
public sealed record DiskImageResult(long Size, PartitionTableKind Table, Guid? DiskGuid, uint? MbrDiskSignature, IReadOnlyList<PartitionResult> Partitions)
{
    /// <summary>SHA-256 of the whole image file (holes as zeros) when the plan asked for <see cref="DiskImagePlan.Digests"/>.</summary>
    public byte[]? Sha256 { get; init; }

    /// <summary>The partition with this name.</summary>
    public PartitionResult this[string name] => Partitions.First(p => p.Name == name);
}
