// One partition of a GUID partition table, and the well-known type GUIDs.
namespace Appliance.Common.Disk.Gpt;

/// <summary>A GPT partition: type, unique id, inclusive LBA range, name (at most 36 UTF-16 units) and attribute bits.</summary>
public sealed record GptPartition(Guid Type, Guid Id, long FirstLba, long LastLba, string Name, ulong Attributes = 0)
{
    /// <summary>The size in bytes.</summary>
    public long SizeBytes => (LastLba - FirstLba + 1) * GptTable.SectorSize;
}

/// <summary>Partition type GUIDs (UEFI 2.10 table 5.7; Discoverable Partitions Specification).</summary>
public static class GptPartitionTypes
{
    /// <summary>EFI System Partition.</summary>
    public static readonly Guid EfiSystem = new("C12A7328-F81F-11D2-BA4B-00A0C93EC93B");

    /// <summary>Linux filesystem data.</summary>
    public static readonly Guid LinuxFilesystem = new("0FC63DAF-8483-4772-8E79-3D69D8477DE4");

    /// <summary>Microsoft basic data (FAT partitions other than the ESP).</summary>
    public static readonly Guid MicrosoftBasicData = new("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7");
}
