// x86_64-uefi: 64-bit PCs and servers with UEFI firmware (OVMF in tests).
using Appliance.ImageBuilder.Boot.SystemdBoot;

namespace Appliance.ImageBuilder.Boot.X86_64Uefi;

/// <summary>x86_64 UEFI: systemd-bootx64.efi as EFI/BOOT/BOOTX64.EFI, serial console ttyS0.</summary>
public sealed class X86_64UefiTarget : SystemdBootTarget
{
    /// <inheritdoc/>
    public override string SerialConsole => "ttyS0";
    /// <inheritdoc/>
    protected override string EfiBootFile => "BOOTX64.EFI";
    /// <inheritdoc/>
    protected override string SystemdBootFile => "systemd-bootx64.efi";
}
