// Boots a Debian kernel in qemu (TCG, no network) with an initramfs made by our cpio writer, and lets that kernel
// read our GPT, mount our FAT32 ESP (vfat), our SquashFS root and our ISO 9660 image (through a loop device), and print
// what it sees on the serial console.
using Appliance.ImageBuilder.Disk.Cpio;
using Appliance.ImageBuilder.Disk.Image;
using Appliance.ImageBuilder.Disk.Iso9660;
using Appliance.ImageBuilder.Disk.Tree;
using Appliance.ImageBuilder.Tests.Disk.Iso9660;

namespace Appliance.ImageBuilder.Tests.Disk;

[Trait("Category", "Boot")]
public sealed class KernelVmTests
{
    /// <summary>The virtio disk, which every check reads; each adds the modules of what it mounts.</summary>
    private static readonly string[] Virtio =
    [
        "drivers/virtio/virtio_ring", "drivers/virtio/virtio", "drivers/virtio/virtio_pci_legacy_dev", "drivers/virtio/virtio_pci_modern_dev",
        "drivers/virtio/virtio_pci", "drivers/block/virtio_blk",
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
        using var dir = new TempDir();
        var boot = FatExternalTests.SampleTree();
        boot.AddFile("日本語/ファイル.conf", FileContent.FromText("ja\n"));
        boot.AddFile("emoji-🚀.bin", FileContent.FromText("astral\n"));
        var root = SquashFsExternalTests.SampleTree();
        DiskImageBuilder.Build(DiskImagePlan.BootAndRoot(boot, 64L << 20, root, diskSize: 256L << 20), dir["disk.img"]);
        var console = await RunInKernelAsync(dir, dir["disk.img"], ["fs/fat/fat", "fs/fat/vfat", "fs/nls/nls_cp437", "fs/nls/nls_ascii", "fs/squashfs/squashfs"], """
            for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda2 ] && break; busybox sleep 0.5; done
            busybox cat /sys/block/vda/vda1/start /sys/block/vda/vda2/start | busybox sed 's/^/START /'
            busybox mount -t vfat -o ro,utf8 /dev/vda1 /boot && echo FAT-MOUNTED
            busybox mount -t squashfs -o ro /dev/vda2 /root && echo SQUASHFS-MOUNTED
            cd /boot && busybox find . -type d | busybox sed 's/^/FATDIR /'
            cd /boot && busybox find . -type f -exec busybox sha256sum {} \; | busybox sed 's/^/FATFILE /'
            cd /root && busybox find . -type f -exec busybox sha256sum {} \; | busybox sed 's/^/SQFILE /'
            """);
        var lines = Lines(console, ["START ", "FATDIR ", "FATFILE ", "SQFILE ", "FAT-MOUNTED", "SQUASHFS-MOUNTED"]);
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

    /// <summary>
    /// The kernel's iso9660 driver (isofs) mounts our ISO read-only through a loop device (losetup -r on the virtio disk
    /// holding the ISO file's bytes), and what it shows — every entry's type, mode, owner, link count, size, mtime,
    /// device numbers, symlink target, and every file's SHA-256 — is the tree we wrote. (This host's own kernel has no
    /// iso9660 driver, so IsoExternalTests.KernelMountShowsTheTree skips here; this is the same check in a VM.)
    /// </summary>
    [Fact]
    public async Task DebianKernelLoopMountsOurIso()
    {
        using var dir = new TempDir();
        var tree = IsoTestSupport.RichTree();
        tree.Remove(new string('n', 251) + ".txt"); // Linux reads at most 253 bytes of an NM name (Iso9660 README)
        IsoWriter.Build(tree, new IsoOptions { VolumeId = "TEST_VOLUME", SourceDateEpoch = IsoTestSupport.Epoch, Durable = false }, dir["x.iso"]);
        var console = await RunInKernelAsync(dir, dir["x.iso"], ["drivers/block/loop", "drivers/cdrom/cdrom", "fs/isofs/isofs"], """
            for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; busybox sleep 0.5; done
            busybox mkdir -p /iso
            busybox losetup -r /dev/loop0 /dev/vda && busybox mount -t iso9660 -o ro /dev/loop0 /iso && echo ISO-MOUNTED
            busybox grep ' /iso ' /proc/mounts | busybox sed 's/^/MOUNT /'
            cd /iso && busybox find . -mindepth 1 | while read -r p; do
              busybox stat -c 'STAT %F|%a|%u|%g|%h|%s|%Y|%t|%T|%n' "$p"
              [ -L "$p" ] && echo "LINK $(busybox readlink "$p")|$p"
            done
            cd /iso && busybox find . -type f -exec busybox sha256sum {} \; | busybox sed 's/^/ISOFILE /'
            """);
        var lines = Lines(console, ["ISO-MOUNTED", "MOUNT ", "STAT ", "LINK ", "ISOFILE "]);
        Assert.Contains("ISO-MOUNTED", lines);
        Assert.Matches(@"^MOUNT /dev/loop0 /iso iso9660 ro[, ]", lines.Single(l => l.StartsWith("MOUNT ", StringComparison.Ordinal)));

        var targets = lines.Where(l => l.StartsWith("LINK ", StringComparison.Ordinal)).Select(l => l[5..].Split("|./", 2))
            .ToDictionary(x => x[1], x => x[0], StringComparer.Ordinal);
        var listing = new List<string>();
        foreach (var l in lines.Where(l => l.StartsWith("STAT ", StringComparison.Ordinal)))
        {
            // %F|%a|%u|%g|%h|%s|%Y|%t|%T|./path, printed as DiskTools.HostListing prints a host tree.
            var f = l[5..].Split('|', 10);
            var path = f[9][2..];
            string type = f[0] switch
            {
                "directory" => "d", "regular file" or "regular empty file" => "f", "symbolic link" => "l", "character special file" => "c",
                "block special file" => "b", "fifo" => "p", "socket" => "s", var other => "?" + other,
            };
            string dev = type is "c" or "b" ? $"{Convert.ToInt64(f[7], 16)},{Convert.ToInt64(f[8], 16)}" : "";
            listing.Add($"{path} {type} {(type == "l" ? "777" : f[1])} {f[2]}:{f[3]} n={f[4]} s={(type == "f" ? f[5] : "")} " +
                $"t={(type == "l" ? "" : f[6])} d={dev} -> {(type == "l" ? targets.GetValueOrDefault(path, "?") : "")}");
        }
        listing.Sort(StringComparer.Ordinal);
        Assert.Equal(DiskTools.TreeListing(tree), listing);
        var digests = new SortedDictionary<string, string>(lines.Where(l => l.StartsWith("ISOFILE ", StringComparison.Ordinal))
            .Select(l => l[8..].Split("  ./", 2)).ToDictionary(x => x[1], x => x[0].ToUpperInvariant(), StringComparer.Ordinal), StringComparer.Ordinal);
        Assert.Equal(DiskTools.FileDigests(tree), digests);
    }

    /// <summary>
    /// Boots the Debian kernel of the amd64 kit with <paramref name="disk"/> as a read-only virtio disk and an initramfs
    /// (our cpio writer) that loads the virtio modules and <paramref name="modules"/> (paths under kernel/, without .ko),
    /// runs <paramref name="script"/> with busybox, prints END-OF-CHECK and powers off. Returns the serial console.
    /// Skips when qemu, busybox-static or the kernel package cannot be had.
    /// </summary>
    private static async Task<string> RunInKernelAsync(TempDir dir, string disk, string[] modules, string script)
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
        DiskTools.Run("dpkg-deb", ["-x", deb, dir["k"]]);
        var vmlinuz = Directory.GetFiles(dir["k/boot"], "vmlinuz-*").Single();
        var version = Path.GetFileName(vmlinuz)["vmlinuz-".Length..];

        string[] all = [.. Virtio, .. modules];
        var init = new FileTree(1_700_000_000);
        init.AddFile("bin/busybox", FileContent.FromHostFile(busybox), 0b111_101_101);
        init.AddSymlink("bin/sh", "busybox");
        foreach (var m in all)
            init.AddFile($"m/{Path.GetFileName(m)}.ko", FileContent.FromHostFile(dir[$"k/lib/modules/{version}/kernel/{m}.ko"]));
        foreach (var d in new[] { "proc", "sys", "dev", "boot", "root" }) init.AddDirectory(d);
        init.AddFile("init", FileContent.FromText($$"""
            #!/bin/sh
            export PATH=/bin
            busybox mount -t proc proc /proc; busybox mount -t sysfs sys /sys; busybox mount -t devtmpfs dev /dev
            for m in {{string.Join(' ', all.Select(Path.GetFileName))}}; do busybox insmod /m/$m.ko; done
            {{script}}
            echo END-OF-CHECK
            busybox poweroff -f
            """), 0b111_101_101);
        using (var f = File.Create(dir["initrd"])) CpioWriter.Write(init, f);

        var vm = await ProcessRunner.RunAsync(qemu, ["-m", "512", "-nographic", "-no-reboot", "-nic", "none", "-kernel", vmlinuz, "-initrd", dir["initrd"],
                "-append", "console=ttyS0 quiet panic=-1", "-drive", $"file={disk},format=raw,if=virtio,readonly=on"],
            new ProcessOptions { Timeout = TimeSpan.FromMinutes(3) }, TestContext.Current.CancellationToken);
        Assert.True(vm.Out.Contains("END-OF-CHECK"), "no end marker on the console:\n" + vm.Out);
        return vm.Out;
    }

    /// <summary>The console's lines, each cut at its first marker (the console may prefix a line with terminal escapes).</summary>
    private static string[] Lines(string console, string[] markers) => console.Replace("\r", "").Split('\n').Select(l =>
    {
        int at = markers.Select(m => l.IndexOf(m, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
        return at > 0 ? l[at..] : l;
    }).ToArray();
}
