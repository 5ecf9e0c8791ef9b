// Builds the appliance initramfs: busybox, our /init, and exactly the kernel modules needed to reach the root.
using System.IO.Compression;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Boot.Initramfs;

/// <summary>
/// Plans and writes the initramfs (a gzip-compressed newc cpio). Contents: <c>/bin/busybox</c> from the
/// OS image (busybox-static), <c>/init</c> (the committed <c>init.sh</c>), the modules named by the
/// board plus their dependencies from <c>modules.dep</c>, and <c>/lib/modules/load.order</c> listing
/// them dependencies-first, which <c>/init</c> feeds to insmod — what mkinitramfs and dracut do with modprobe.
/// </summary>
public sealed class InitramfsBuilder(RootFs root, KernelInfo kernel, long sourceDateEpoch)
{
    /// <summary>Modules every board needs: the root and data file systems, and loop/iso9660 for installer media.</summary>
    public static readonly string[] CommonModules = ["squashfs", "overlay", "vfat", "nls_cp437", "nls_iso8859_1", "loop", "isofs"];

    /// <summary>
    /// Modules loaded when the kernel has them: ext4 (data partition) with crc32c_generic, and the FAT default charset.
    /// ext4 asks the crypto API for crc32c when it mounts (a softdep, not in modules.dep), and without modprobe in the
    /// initramfs nothing would load it: the mount fails with "Cannot load crc32c driver". The generic one, not
    /// crc32c_intel, which needs SSE4.2.
    /// </summary>
    public static readonly string[] CommonOptionalModules = ["crc32c_generic", "ext4", "nls_ascii"];

    /// <summary>The module files chosen by the last <see cref="Plan"/>, dependencies first.</summary>
    public IReadOnlyList<string> Modules { get; private set; } = [];

    /// <summary>Resolves the modules and lays out the initramfs tree.</summary>
    public FileTree Plan(IEnumerable<string> boardModules, IEnumerable<string> boardOptionalModules)
    {
        var index = ModuleIndex.Parse(kernel.Version,
            System.Text.Encoding.UTF8.GetString(root.ReadAllBytes($"{kernel.ModulesPath}/modules.dep", $"modules.dep of kernel {kernel.Version}")),
            root.Find($"{kernel.ModulesPath}/modules.builtin") is { } b ? System.Text.Encoding.UTF8.GetString(root.ReadAllBytes($"{kernel.ModulesPath}/modules.builtin", "modules.builtin")) : null,
            $"{root.Description}: /{kernel.ModulesPath}");
        Modules = index.Resolve(CommonModules.Concat(boardModules), CommonOptionalModules.Concat(boardOptionalModules));

        var tree = new FileTree(sourceDateEpoch);
        foreach (var d in new[] { "bin", "dev", "proc", "sys", "run", "tmp", "newroot", "lib/modules" })
            tree.AddDirectory(d, mtime: sourceDateEpoch);
        tree.AddFile("bin/busybox", root.File("bin/busybox", "busybox (install busybox-static in the OS image)").Content!, 0b111_101_101, mtime: sourceDateEpoch);
        tree.AddFile("init", InitScript(), 0b111_101_101, mtime: sourceDateEpoch);
        foreach (var m in Modules)
            tree.AddFile($"lib/modules/{m}", root.File($"{kernel.ModulesPath}/{m}", $"module {m}").Content!, 0b110_100_100, mtime: sourceDateEpoch);
        tree.AddFile("lib/modules/load.order", System.Text.Encoding.UTF8.GetBytes(string.Concat(Modules.Select(m => m + "\n"))), mtime: sourceDateEpoch);
        return tree;
    }

    /// <summary>Writes <paramref name="tree"/> gzip-compressed; the gzip header carries no name and no time.</summary>
    public static byte[] Write(FileTree tree)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.SmallestSize, leaveOpen: true))
            Disk.Cpio.CpioWriter.Write(tree, gz);
        return ms.ToArray();
    }

    /// <summary>The committed /init script.</summary>
    public static byte[] InitScript()
    {
        using var s = typeof(InitramfsBuilder).Assembly.GetManifestResourceStream("Appliance.ImageBuilder.Boot.Initramfs.init.sh")
            ?? throw new InvalidOperationException("the initramfs init.sh resource is missing from the assembly");
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }
}
