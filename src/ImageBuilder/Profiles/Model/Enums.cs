// The closed sets of values a profile may name: boards, image formats, node roles, taint effects.
namespace Appliance.ImageBuilder.Profiles.Model;

/// <summary>The hardware family an image boots on. Each has one boot target (see Boot/).</summary>
public enum Board
{
    /// <summary>64-bit PCs and servers with UEFI firmware.</summary>
    [ProfileValue("x86_64-uefi")] X86_64Uefi,
    /// <summary>64-bit ARM machines with UEFI firmware (servers, arm64 VMs).</summary>
    [ProfileValue("arm64-uefi")] Arm64Uefi,
    /// <summary>Raspberry Pi 3/4/5 in 64-bit mode, booted by the Pi firmware.</summary>
    [ProfileValue("arm64-rpi")] Arm64Rpi,
    /// <summary>Raspberry Pi 2/3 in 32-bit mode, booted by the Pi firmware.</summary>
    [ProfileValue("armv7-rpi")] Armv7Rpi,
    /// <summary>Generic 32-bit ARM (QEMU virt and similar), kernel booted directly.</summary>
    [ProfileValue("armv7-virt")] Armv7Virt,
}

/// <summary>What the build writes.</summary>
public enum ImageFormat
{
    /// <summary>A raw disk image (GPT or MBR) to write to a disk or SD card.</summary>
    [ProfileValue("raw")] Raw,
    /// <summary>A hybrid ISO 9660 image (El Torito EFI) to burn or write to a USB stick; it installs to disk.</summary>
    [ProfileValue("iso")] Iso,
}

/// <summary>The node's part in the site cluster.</summary>
public enum NodeRole
{
    /// <summary>Runs the API server and datastore (and workloads).</summary>
    [ProfileValue("server")] Server,
    /// <summary>Joins a server given by <c>cluster.server</c> and runs workloads.</summary>
    [ProfileValue("agent")] Agent,
}

/// <summary>Kubernetes taint effects.</summary>
public enum TaintEffect
{
    /// <summary>New pods without a toleration are not scheduled.</summary>
    [ProfileValue("NoSchedule")] NoSchedule,
    /// <summary>The scheduler avoids the node.</summary>
    [ProfileValue("PreferNoSchedule")] PreferNoSchedule,
    /// <summary>Running pods without a toleration are evicted.</summary>
    [ProfileValue("NoExecute")] NoExecute,
}
