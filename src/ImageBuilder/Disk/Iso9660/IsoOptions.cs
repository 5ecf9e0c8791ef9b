// What the ISO 9660 writer is asked to build, and what it reports back.
namespace Appliance.ImageBuilder.Disk.Iso9660;

/// <summary>How <see cref="IsoWriter"/> builds an image.</summary>
public sealed record IsoOptions
{
    /// <summary>The volume identifier: 1 to 32 d-characters (A–Z, 0–9, _), as ECMA-119 8.4.6 requires.</summary>
    public required string VolumeId { get; init; }

    /// <summary>The time of the volume descriptors and of the boot catalog; every other timestamp is the tree's mtime.</summary>
    public long SourceDateEpoch { get; init; }

    /// <summary>El Torito boot entries; the first is the initial/default entry, the others go into sections by platform.</summary>
    public IReadOnlyList<IsoBootEntry> BootEntries { get; init; } = [];

    /// <summary>Where the boot catalog appears in the tree when <see cref="BootEntries"/> is not empty.</summary>
    public string BootCatalogPath { get; init; } = "boot.catalog";

    /// <summary>Null: a plain ISO. Otherwise an MBR and a GPT in the system area, as xorriso's -isohybrid-gpt-basdat.</summary>
    public IsoHybrid? Hybrid { get; init; }

    /// <summary>Write around the page cache and fsync before the rename (as the other writers, Disk/Common/ImageFileStream).</summary>
    public bool Durable { get; init; } = true;

    /// <summary>The seed of the disk GUID and MBR signature of a hybrid image; null: a hash of the image's metadata and content.</summary>
    public byte[]? IdentitySeed { get; init; }
}

/// <summary>El Torito platform ids (El Torito 1.0 section 2.1, and 0xEF for EFI from UEFI 2.10 §13.3.2.1).</summary>
public enum IsoBootPlatform : byte
{
    /// <summary>80x86 PC BIOS.</summary>
    X86Bios = 0x00,
    /// <summary>UEFI.</summary>
    Efi = 0xEF,
}

/// <summary>One El Torito no-emulation boot entry.</summary>
/// <param name="Platform">The platform the image boots.</param>
/// <param name="Path">A regular file in the tree (for example "boot/efiboot.img" or "isolinux/isolinux.bin").</param>
/// <param name="BootInfoTable">Patch the 56-byte boot info table at offset 8 of the image (isolinux needs it; mkisofs -boot-info-table).</param>
/// <param name="LoadSectors">512-byte virtual sectors to load; null: 4 for BIOS (as mkisofs -boot-load-size 4), the whole image for EFI (at most 0xFFFF).</param>
public sealed record IsoBootEntry(IsoBootPlatform Platform, string Path, bool BootInfoTable = false, ushort? LoadSectors = null);

/// <summary>
/// An isohybrid system area, laid out as <c>xorriso -as mkisofs -isohybrid-mbr X -isohybrid-gpt-basdat</c>: an MBR whose
/// first partition (bootable, type 0) covers the image and whose second (type 0xEF) is the EFI boot image, and a GPT
/// with the same two partitions (basic data), the backup GPT at the end of the padded image.
/// </summary>
/// <param name="MbrBootCode">The MBR boot code for bytes 0–431 (for example the first 432 bytes of isohdpfx.bin), or null for none.</param>
public sealed record IsoHybrid(byte[]? MbrBootCode);

/// <summary>Where a file's data lies in the image.</summary>
/// <param name="Lba">The first 2048-byte block.</param>
/// <param name="Length">The data length in bytes.</param>
public readonly record struct IsoExtent(long Lba, long Length);

/// <summary>What <see cref="IsoWriter"/> wrote.</summary>
/// <param name="Size">The image file's size in bytes.</param>
/// <param name="Extents">The data extent of every regular file by tree path (hard links share their target's).</param>
/// <param name="BootCatalogLba">The boot catalog's block, or null without boot entries.</param>
/// <param name="DiskGuid">The GPT disk GUID of a hybrid image, or null.</param>
public sealed record IsoResult(long Size, IReadOnlyDictionary<string, IsoExtent> Extents, long? BootCatalogLba, Guid? DiskGuid);
