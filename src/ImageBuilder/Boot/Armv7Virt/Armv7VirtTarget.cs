// armv7-virt: generic 32-bit ARM (the qemu virt machine), booted through UEFI (AAVMF32) and systemd-boot.
using Appliance.ImageBuilder.Boot.SystemdBoot;

namespace Appliance.ImageBuilder.Boot.Armv7Virt;

/// <summary>
/// armv7 virt: the armmp kernel's EFI stub started by systemd-bootarm.efi (EFI/BOOT/BOOTARM.EFI)
/// under 32-bit ARM UEFI firmware; console ttyAMA0. The firmware provides the device tree.
/// </summary>
public sealed class Armv7VirtTarget : SystemdBootTarget
{
    /// <inheritdoc/>
    public override string SerialConsole => "ttyAMA0";
    /// <inheritdoc/>
    protected override string EfiBootFile => "BOOTARM.EFI";
    /// <inheritdoc/>
    protected override string SystemdBootFile => "systemd-bootarm.efi";
}
