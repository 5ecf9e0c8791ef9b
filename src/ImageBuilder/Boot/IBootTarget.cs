// One board family's boot chain: platform, partition table, bootloader files and their configuration.
using Appliance.ImageBuilder.Disk.Tree;
using Appliance.ImageBuilder.Oci;

namespace Appliance.ImageBuilder.Boot;

/// <summary>How a board's firmware finds partitions.</summary>
public enum PartitionTable
{
    /// <summary>GUID partition table; partitions carry names (boot, root-a, root-b).</summary>
    Gpt,
    /// <summary>MBR (the Raspberry Pi boot ROM reads only MBR): boot is partition 1, root-a 2, root-b 3.</summary>
    Mbr,
}

/// <summary>What a target puts on the boot partition for one root slot.</summary>
/// <param name="Slot">"a" or "b".</param>
/// <param name="Initramfs">The gzip-compressed initramfs.</param>
/// <param name="Title">The human-readable version shown by boot menus.</param>
public sealed record BootSlot(string Slot, byte[] Initramfs, string Title);

/// <summary>A board family's boot chain. Implementations live in one folder per board under Boot/.</summary>
public interface IBootTarget
{
    /// <summary>The board name as profiles spell it (for example <c>arm64-rpi</c>).</summary>
    string Name { get; }

    /// <summary>The OCI platform of the OS image and preloaded images.</summary>
    Platform Platform { get; }

    /// <summary>The partition table the firmware reads.</summary>
    PartitionTable Table { get; }

    /// <summary>The serial console the kernel logs to (and that tests read).</summary>
    string SerialConsole { get; }

    /// <summary>Storage drivers the initramfs must load to see the root disk (built-in ones are skipped).</summary>
    IReadOnlyList<string> InitramfsModules { get; }

    /// <summary>Drivers for other storage the board may have, loaded when the kernel has them.</summary>
    IReadOnlyList<string> OptionalInitramfsModules { get; }

    /// <summary>The kernel command line for <paramref name="slot"/>.</summary>
    string KernelCommandLine(string slot);

    /// <summary>Adds the bootloader, kernel, initramfs, device trees and configuration for <paramref name="slot"/> to <paramref name="boot"/>.</summary>
    void AddBootFiles(FileTree boot, BootSlot slot, RootFs root, KernelInfo kernel, long mtime);
}
