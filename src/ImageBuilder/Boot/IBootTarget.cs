// One board family's boot chain: bootloader files, their configuration and the kernel command line.
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Boot;

/// <summary>What a target puts on the boot partition for one root slot.</summary>
/// <param name="Slot">"a" or "b".</param>
/// <param name="Initramfs">The gzip-compressed initramfs.</param>
/// <param name="Title">The human-readable version shown by boot menus.</param>
public sealed record BootSlot(string Slot, byte[] Initramfs, string Title);

/// <summary>
/// A board family's boot chain. Implementations live in one folder per board under Boot/; the board's name, platform,
/// partition table and initramfs drivers are in its description (<c>Boards/Board.cs</c>), which names its target.
/// </summary>
public interface IBootTarget
{
    /// <summary>The serial console the kernel logs to (and that tests read).</summary>
    string SerialConsole { get; }

    /// <summary>The kernel command line for <paramref name="slot"/>.</summary>
    string KernelCommandLine(string slot);

    /// <summary>Adds the bootloader, kernel, initramfs, device trees and configuration for <paramref name="slot"/> to <paramref name="boot"/>.</summary>
    void AddBootFiles(FileTree boot, BootSlot slot, RootFs root, KernelInfo kernel, long mtime);
}
