// Every board the builder knows, described once: name, platform, partition table, boot target, formats, initramfs drivers.
using Appliance.ImageBuilder.Boot;
using Appliance.ImageBuilder.Disk.Image;
using Appliance.ImageBuilder.Oci;

namespace Appliance.ImageBuilder.Boards;

/// <summary>
/// One board family. Profile validation, platform resolution (<c>store export --board</c>) and the build all read
/// these descriptions; nothing else knows a board by its name, its place in a list or a name prefix.
/// </summary>
public sealed record Board
{
    /// <summary>The name profiles use, such as <c>arm64-rpi</c>.</summary>
    public required string Name { get; init; }

    /// <summary>One sentence on the hardware.</summary>
    public required string Description { get; init; }

    /// <summary>The OCI platform of the OS image and the preloaded images.</summary>
    public required Platform Platform { get; init; }

    /// <summary>The partition table the firmware reads.</summary>
    public required PartitionTableKind PartitionTable { get; init; }

    /// <summary>The boot chain: bootloader files, their configuration and the kernel command line.</summary>
    public required IBootTarget BootTarget { get; init; }

    /// <summary>The image formats the board's firmware boots.</summary>
    public required IReadOnlyList<ImageFormat> Formats { get; init; }

    /// <summary>
    /// Whether the board's ISO also boots PC BIOS firmware (isolinux from the OS image, El Torito platform 0 and the
    /// isohybrid MBR code), besides UEFI. Only x86 PCs have that firmware.
    /// </summary>
    public bool IsoBiosBoot { get; init; }

    /// <summary>Storage drivers the initramfs must load to see the root disk (built-in ones are skipped).</summary>
    public required IReadOnlyList<string> InitramfsModules { get; init; }

    /// <summary>Drivers for other storage the board may have, loaded when the kernel has them.</summary>
    public required IReadOnlyList<string> OptionalInitramfsModules { get; init; }

    // UEFI machines (and VMs) boot from virtio, SATA, NVMe, USB or SD, and an ISO from a CD (IDE/ATAPI: ata_piix,
    // ata_generic; SCSI/SATA: sr_mod) or a USB stick; the Pi from its SD host or USB.
    private static readonly string[] UefiModules = ["virtio_pci", "virtio_blk"];
    private static readonly string[] UefiOptionalModules =
        ["virtio_scsi", "sd_mod", "nvme", "ahci", "ata_piix", "ata_generic", "usb_storage", "uas", "xhci_pci", "ehci_pci", "ohci_pci",
         "uhci_hcd", "sr_mod", "mmc_block", "sdhci_pci"];
    private static readonly string[] PiModules = ["sdhci_iproc", "bcm2835", "mmc_block"];
    private static readonly string[] PiOptionalModules =
        ["usb_storage", "sd_mod", "uas", "dwc2", "xhci_pci", "pcie_brcmstb", "reset_raspberrypi", "bcm2835_dma"];

    /// <summary>x86_64-uefi: 64-bit PCs and servers with UEFI firmware.</summary>
    public static Board X86_64Uefi { get; } = new()
    {
        Name = "x86_64-uefi", Description = "64-bit PCs and servers with UEFI firmware.",
        Platform = Platform.LinuxAmd64, PartitionTable = PartitionTableKind.Gpt, BootTarget = new Boot.X86_64Uefi.X86_64UefiTarget(),
        Formats = [ImageFormat.Raw, ImageFormat.Iso], IsoBiosBoot = true, InitramfsModules = UefiModules, OptionalInitramfsModules = UefiOptionalModules,
    };

    /// <summary>arm64-uefi: 64-bit ARM machines with UEFI firmware.</summary>
    public static Board Arm64Uefi { get; } = new()
    {
        Name = "arm64-uefi", Description = "64-bit ARM machines with UEFI firmware (servers, arm64 VMs).",
        Platform = Platform.LinuxArm64, PartitionTable = PartitionTableKind.Gpt, BootTarget = new Boot.Arm64Uefi.Arm64UefiTarget(),
        Formats = [ImageFormat.Raw, ImageFormat.Iso], InitramfsModules = UefiModules, OptionalInitramfsModules = UefiOptionalModules,
    };

    /// <summary>arm64-rpi: Raspberry Pi 3/4/5 in 64-bit mode.</summary>
    public static Board Arm64Rpi { get; } = new()
    {
        Name = "arm64-rpi", Description = "Raspberry Pi 3/4/5 in 64-bit mode, booted by the Pi firmware.",
        Platform = Platform.LinuxArm64, PartitionTable = PartitionTableKind.Mbr, BootTarget = new Boot.Arm64Rpi.Arm64RpiTarget(),
        Formats = [ImageFormat.Raw], InitramfsModules = PiModules, OptionalInitramfsModules = PiOptionalModules,
    };

    /// <summary>armv7-rpi: Raspberry Pi 2/3 in 32-bit mode.</summary>
    public static Board Armv7Rpi { get; } = new()
    {
        Name = "armv7-rpi", Description = "Raspberry Pi 2/3 in 32-bit mode, booted by the Pi firmware.",
        Platform = Platform.LinuxArmV7, PartitionTable = PartitionTableKind.Mbr, BootTarget = new Boot.Armv7Rpi.Armv7RpiTarget(),
        Formats = [ImageFormat.Raw], InitramfsModules = PiModules, OptionalInitramfsModules = PiOptionalModules,
    };

    /// <summary>armv7-virt: generic 32-bit ARM (QEMU virt and similar).</summary>
    public static Board Armv7Virt { get; } = new()
    {
        Name = "armv7-virt", Description = "Generic 32-bit ARM (QEMU virt and similar) with UEFI firmware.",
        Platform = Platform.LinuxArmV7, PartitionTable = PartitionTableKind.Gpt, BootTarget = new Boot.Armv7Virt.Armv7VirtTarget(),
        Formats = [ImageFormat.Raw], InitramfsModules = UefiModules, OptionalInitramfsModules = UefiOptionalModules,
    };

    /// <summary>Every board, in the order profiles and the schema list them.</summary>
    public static IReadOnlyList<Board> All { get; } = [X86_64Uefi, Arm64Uefi, Arm64Rpi, Armv7Rpi, Armv7Virt];

    /// <summary>The board named <paramref name="name"/>, or null.</summary>
    public static Board? Find(string name) => All.FirstOrDefault(b => b.Name == name);

    /// <summary>The board named <paramref name="name"/>; an unknown name throws <see cref="ArgumentException"/> listing the known ones.</summary>
    public static Board Get(string name) =>
        Find(name) ?? throw new ArgumentException($"unknown board '{name}' (expected one of {string.Join(", ", All.Select(b => b.Name))})", nameof(name));

    /// <summary>
    /// Why this board's image cannot be made in <paramref name="format"/>, or null when it can: the firmware does not boot it,
    /// or this builder does not write it yet. Profile validation and the build report the same words.
    /// </summary>
    public string? FormatProblem(ImageFormat format)
    {
        var name = ImageFormats.Name(format);
        if (!Formats.Contains(format))
            return $"board {Name} cannot boot format {name}; {name} needs one of {string.Join(", ", All.Where(b => b.Formats.Contains(format)).Select(b => b.Name))}";
        if (!ImageFormats.Built.Contains(format))
            return $"format {name} is not supported by this build yet; use {string.Join(" or ", ImageFormats.Built.Select(ImageFormats.Name))}";
        return null;
    }

    /// <summary>The name.</summary>
    public override string ToString() => Name;
}
