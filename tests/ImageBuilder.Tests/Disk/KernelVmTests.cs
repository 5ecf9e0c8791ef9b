// Boots a Debian kernel in qemu (TCG, no network) with an initramfs made by our cpio writer, and lets that kernel
// read our GPT, mount our FAT32 ESP (vfat) and our SquashFS root, and print what it sees on the serial console.
using Appliance.ImageBuilder.Disk.Cpio;
using Appliance.ImageBuilder.Disk.Image;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Tests.Disk;

[Trait("Category", "Boot")]
public sealed class KernelVmTests
{
    private static readonly string[] Modules =
    [
        "drivers/virtio/virtio_ring", "drivers/virtio/virtio", "drivers/virtio/virtio_pci_legacy_dev", "drivers/virtio/virtio_pci_modern_dev",
        "drivers/virtio/virtio_pci", "drivers/block/virtio_blk", "fs/fat/fat", "fs/fat/vfat", "fs/nls/nls_cp437", "fs/nls/nls_ascii",
        "fs/squashfs/squashfs",
    ];

    /// <summary>The Debian kernel package: $APPLIANCE_TEST_KERNEL_DEB, or the one the amd64 kit's lock pins (kits/ caches it).</summary>
    private static string? FindKernelDeb()
    {
        var env = Environment.GetEnvironmentVariable("APPLIANCE_TEST_KERNEL_DEB");
        if (!string.IsNullOrEmpty(env) && File.Exists(env)) return env;
        var cache = Environment.GetEnvironmentVariable("APPLIANCE_CACHE") is { Length: > 0 } c
            ? c : Path.Combine(Environment.GetEnvironmentVariable("HOME") ?? "/root", ".cache", "appliance");
        var kit = Path.Combine(cache, "debian", "bookworm", "amd64");
        var lockFile = Path.Combine(kit, "packages.lock");
        if (!File.Exists(lockFile) || !Directory.Exists(Path.Combine(kit, "debs"))) return null;
        // The versioned kernel package (linux-image-6.1.0-57-amd64), not its meta package.
        var kernel = File.ReadLines(lockFile).Select(l => l.Split(' ')[0])
            .FirstOrDefault(n => n.StartsWith("linux-image-", StringComparison.Ordinal) && char.IsAsciiDigit(n["linux-image-".Length]));
        return kernel is null ? null : Directory.GetFiles(Path.Combine(kit, "debs"), $"{kernel}_*_amd64.deb").SingleOrDefault();
    }

    [Fact]
    public async Task DebianKernelReadsOurGptFatAndSquashFs()
    {
        var qemu = DiskTools.Require("qemu-system-x86_64", "dpkg-deb", "busybox");
        var deb = FindKernelDeb();
        if (deb is null) Assert.Skip("no Debian linux-image-*-amd64 .deb: set APPLIANCE_TEST_KERNEL_DEB or run kits/debian/make-os-image.sh amd64 to cache one");
        var busybox = DiskTools.Find("busybox")!;
        // A dynamic executable names its loader (PT_INTERP) near the start of the file.
        var headBytes = new byte[8192];
        using (var b = File.OpenRead(busybox)) b.ReadAtLeast(headBytes, headBytes.Length, throwOnEndOfStream: false);
        if (System.Text.Encoding.Latin1.GetString(headBytes).Contains("/ld-linux", StringComparison.Ordinal))
            Assert.Skip($"{busybox} is dynamically linked (install busybox-static)");
        using var dir = new TempDir();
        DiskTools.Run("dpkg-deb", ["-x", deb, dir["k"]]);
        var vmlinuz = Directory.GetFiles(dir["k/boot"], "vmlinuz-*").Single();
        var version = Path.GetFileName(vmlinuz)["vmlinuz-".Length..];

        var boot = FatExternalTests.SampleTree();
        boot.AddFile("日本語/ファイル.conf", FileContent.FromText("ja\n"));
        boot.AddFile("emoji-🚀.bin", FileContent.FromText("astral\n"));
        var root = SquashFsExternalTests.SampleTree();
        DiskImageBuilder.Build(DiskImagePlan.BootAndRoot(boot, 64L << 20, root, diskSize: 256L << 20), dir["disk.img"]);

        var init = new FileTree(1_700_000_000);
        init.AddFile("bin/busybox", FileContent.FromHostFile(busybox), 0b111_101_101);
        init.AddSymlink("bin/sh", "busybox");
        foreach (var m in Modules)
            init.AddFile($"m/{Path.GetFileName(m)}.ko", FileContent.FromHostFile(dir[$"k/lib/modules/{version}/kernel/{m}.ko"]));
        foreach (var d in new[] { "proc", "sys", "dev", "boot", "root" }) init.AddDirectory(d);
        init.AddFile("init", FileContent.FromText($$"""
            #!/bin/sh
            export PATH=/bin
            busybox mount -t proc proc /proc; busybox mount -t sysfs sys /sys; busybox mount -t devtmpfs dev /dev
            for m in {{string.Join(' ', Modules.Select(Path.GetFileName))}}; do busybox insmod /m/$m.ko; done
            for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda2 ] && break; busybox sleep 0.5; done
            busybox cat /sys/block/vda/vda1/start /sys/block/vda/vda2/start | busybox sed 's/^/START /'
            busybox mount -t vfat -o ro,utf8 /dev/vda1 /boot && echo FAT-MOUNTED
            busybox mount -t squashfs -o ro /dev/vda2 /root && echo SQUASHFS-MOUNTED
            cd /boot && busybox find . -type d | busybox sed 's/^/FATDIR /'
            cd /boot && busybox find . -type f -exec busybox sha256sum {} \; | busybox sed 's/^/FATFILE /'
            cd /root && busybox find . -type f -exec busybox sha256sum {} \; | busybox sed 's/^/SQFILE /'
            echo END-OF-CHECK
            busybox poweroff -f
            """), 0b111_101_101);
        using (var f = File.Create(dir["initrd"])) CpioWriter.Write(init, f);

        var vm = await ProcessRunner.RunAsync(qemu, ["-m", "512", "-nographic", "-no-reboot", "-nic", "none", "-kernel", vmlinuz, "-initrd", dir["initrd"],
                "-append", "console=ttyS0 quiet panic=-1", "-drive", $"file={dir["disk.img"]},format=raw,if=virtio,readonly=on"],
            new ProcessOptions { Timeout = TimeSpan.FromMinutes(3) }, TestContext.Current.CancellationToken);
        var console = vm.Out;
        // The console may prefix a line with terminal escapes, so each line is cut at its first marker.
        string[] markers = ["START ", "FATDIR ", "FATFILE ", "SQFILE ", "END-OF-CHECK", "FAT-MOUNTED", "SQUASHFS-MOUNTED"];
        var lines = console.Replace("\r", "").Split('\n').Select(l =>
        {
            int at = markers.Select(m => l.IndexOf(m, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
            return at > 0 ? l[at..] : l;
        }).ToArray();
        Assert.True(lines.Contains("END-OF-CHECK"), "no end marker on the console:\n" + console);
        Assert.Contains("FAT-MOUNTED", lines);
        Assert.Contains("SQUASHFS-MOUNTED", lines);
        var starts = lines.Where(l => l.StartsWith("START ", StringComparison.Ordinal)).Select(l => long.Parse(l[6..])).ToList();
        Assert.Equal([2048L, 2048L + (64L << 20) / 512], starts);

        SortedDictionary<string, string> Files(string prefix) => new(lines.Where(l => l.StartsWith(prefix, StringComparison.Ordinal))
            .Select(l => l[prefix.Length..].Split("  ./", 2)).ToDictionary(x => x[1], x => x[0].ToUpperInvariant()), StringComparer.Ordinal);
        Assert.Equal(DiskTools.FileDigests(boot), Files("FATFILE "));
        Assert.Equal(DiskTools.FileDigests(root), Files("SQFILE "));
        var fatDirs = lines.Where(l => l.StartsWith("FATDIR ./", StringComparison.Ordinal)).Select(l => l["FATDIR ./".Length..]).Order(StringComparer.Ordinal);
        Assert.Equal(boot.Walk().Where(n => n.Type == FileNodeType.Directory && n.Parent != null).Select(n => n.Path).Order(StringComparer.Ordinal), fatDirs);
    }
}
