// Settings of the FAT32 writer.
namespace Appliance.ImageBuilder.Disk.Fat;

/// <summary>How <see cref="FatBuilder"/> formats a volume.</summary>
public sealed class FatOptions
{
    /// <summary>The volume label: up to 11 characters from A–Z, 0–9, space and $%'-_@~`!(){}^#&amp;; lower case is upper-cased. Null for none.</summary>
    public string? VolumeLabel { get; init; }

    /// <summary>The volume serial number; null derives it from the label, the size and the tree, so it follows from the inputs.</summary>
    public uint? VolumeSerial { get; init; }

    /// <summary>The partition's first LBA on its disk (BPB_HiddSec); the disk composer sets it.</summary>
    public uint HiddenSectors { get; init; }

    /// <summary>Sectors per cluster; null takes the value from the specification's table for the volume size.</summary>
    public int? SectorsPerCluster { get; init; }
}
