// arm64-uefi: 64-bit ARM machines with UEFI firmware (AAVMF in tests).
using Appliance.ImageBuilder.Boot.SystemdBoot;

namespace Appliance.ImageBuilder.Boot.Arm64Uefi;

/// <summary>arm64 UEFI: systemd-bootaa64.efi as EFI/BOOT/BOOTAA64.EFI, PL011 console ttyAMA0; the device tree or ACPI comes from the firmware.</summary>
public sealed class Arm64UefiTarget : SystemdBootTarget
{
    /// <inheritdoc/>
    public override string SerialConsole => "ttyAMA0";
    /// <inheritdoc/>
    protected override string EfiBootFile => "BOOTAA64.EFI";
    /// <inheritdoc/>
    protected override string SystemdBootFile => "systemd-bootaa64.efi";
}
