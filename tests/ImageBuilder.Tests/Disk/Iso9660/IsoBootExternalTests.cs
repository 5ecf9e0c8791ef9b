// Checks El Torito and the isohybrid system area of our images with xorriso, fdisk and the kernel's partition scan.
using System.Text.RegularExpressions;
using Appliance.ImageBuilder.Disk.Iso9660;
using static Appliance.ImageBuilder.Tests.Disk.Iso9660.IsoTestSupport;

namespace Appliance.ImageBuilder.Tests.Disk.Iso9660;

[Trait("Category", "External")]
public sealed class IsoBootExternalTests
{
    private const string IsohdpfxPath = "/usr/lib/ISOLINUX/isohdpfx.bin";

    private static IsoOptions BiosAndEfi(bool hybrid) => new()
    {
        VolumeId = "BOOT_TEST",
        SourceDateEpoch = Epoch,
        Durable = false,
        BootEntries =
        [
            new IsoBootEntry(IsoBootPlatform.X86Bios, "isolinux/isolinux.bin", BootInfoTable: true),
            new IsoBootEntry(IsoBootPlatform.Efi, "boot/efiboot.img"),
        ],
        Hybrid = hybrid ? new IsoHybrid(File.Exists(IsohdpfxPath) ? File.ReadAllBytes(IsohdpfxPath)[..432] : null) : null,
    };

    private static void Keep(string iso, string name)
    {
        if (Environment.GetEnvironmentVariable("ISO_TEST_KEEP_DIR") is { Length: > 0 } keep) File.Copy(iso, Path.Combine(keep, name), true);
    }

    [Fact]
    public void XorrisoReportsTheElToritoEntries()
    {
        DiskTools.Require("xorriso", "mkfs.vfat", "mcopy");
        using var dir = new TempDir();
        var tree = BootTree(MakeEfiImage(dir["efiboot.img"]));
        var r = IsoWriter.Build(tree, BiosAndEfi(hybrid: false), dir["x.iso"]);
        Keep(dir["x.iso"], "eltorito.iso");
        var report = DiskTools.Run("xorriso", ["-indev", dir["x.iso"], "-report_el_torito", "plain"]).Out;
        var bios = r.Extents["isolinux/isolinux.bin"];
        var efi = r.Extents["boot/efiboot.img"];
        Assert.Matches($@"El Torito catalog\s+:\s+{r.BootCatalogLba}\s+1", report);
        Assert.Matches(@"El Torito cat path\s+:\s+/boot.catalog", report);
        Assert.Matches($@"El Torito boot img\s+:\s+1\s+BIOS\s+y\s+none\s+0x0000\s+0x00\s+4\s+{bios.Lba}\b", report);
        Assert.Matches($@"El Torito boot img\s+:\s+2\s+UEFI\s+y\s+none\s+0x0000\s+0x00\s+{efi.Length / 512}\s+{efi.Lba}\b", report);
        Assert.Matches(@"El Torito img path\s+:\s+1\s+/isolinux/isolinux.bin", report);
        Assert.Matches(@"El Torito img path\s+:\s+2\s+/boot/efiboot.img", report);
        Assert.Matches(@"El Torito img opts\s+:\s+1\s+boot-info-table", report);

        // The boot info table: PVD at 16, the file's LBA and length, and the sum of its 32-bit words from byte 64.
        var original = File.ReadAllBytes(tree.Find("isolinux/isolinux.bin")!.Content is { } c ? Materialize(c, dir["bios"]) : "");
        using var iso = File.OpenRead(dir["x.iso"]);
        var image = new byte[original.Length];
        iso.Position = bios.Lba * 2048;
        iso.ReadExactly(image);
        uint sum = 0;
        for (int i = 64; i < original.Length; i += 4) sum += BitConverter.ToUInt32(original, i);
        Assert.Equal(16u, BitConverter.ToUInt32(image, 8));
        Assert.Equal((uint)bios.Lba, BitConverter.ToUInt32(image, 12));
        Assert.Equal((uint)original.Length, BitConverter.ToUInt32(image, 16));
        Assert.Equal(sum, BitConverter.ToUInt32(image, 20));
        Assert.Equal(original[..8], image[..8]);
        Assert.Equal(original[64..], image[64..]);
    }

    private static string Materialize(Appliance.ImageBuilder.Disk.Tree.FileContent c, string path)
    {
        using (var s = c.OpenRead()) using (var f = File.Create(path)) s.CopyTo(f);
        return path;
    }

    /// <summary>Our system area as xorriso reports it, and the same tree made by xorriso itself, line by line (GUIDs and block numbers aside).</summary>
    [Fact]
    public void HybridSystemAreaIsLaidOutAsXorrisoDoes()
    {
        DiskTools.Require("xorriso", "mkfs.vfat", "mcopy");
        if (!File.Exists(IsohdpfxPath)) Assert.Skip($"{IsohdpfxPath} is missing (apt-get install isolinux)");
        using var dir = new TempDir();
        var tree = BootTree(MakeEfiImage(dir["src/boot/efiboot.img"]));
        var r = IsoWriter.Build(tree, BiosAndEfi(hybrid: true), dir["ours.iso"]);
        Keep(dir["ours.iso"], "hybrid.iso");
        File.WriteAllText(dir["src/hello.txt"], "hello\n");
        Directory.CreateDirectory(dir["src/isolinux"]);
        File.Copy("/usr/lib/ISOLINUX/isolinux.bin", dir["src/isolinux/isolinux.bin"]);
        DiskTools.Run("xorriso", ["-as", "mkisofs", "-R", "-V", "BOOT_TEST", "-o", dir["theirs.iso"], "-c", "boot.catalog",
            "-b", "isolinux/isolinux.bin", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
            "-eltorito-alt-boot", "-e", "boot/efiboot.img", "-no-emul-boot",
            "-isohybrid-mbr", IsohdpfxPath, "-isohybrid-gpt-basdat", dir["src"]]);

        string Report(string iso) => DiskTools.Run("xorriso", ["-indev", iso, "-report_system_area", "plain"]).Out;
        var ours = Normalize(Report(dir["ours.iso"]));
        var theirs = Normalize(Report(dir["theirs.iso"]));
        Assert.Equal(theirs, ours);
        Assert.Equal(new FileInfo(dir["theirs.iso"]).Length, r.Size);
        Assert.Equal(r.Size, new FileInfo(dir["ours.iso"]).Length);

        // The EFI partition is the EFI image, in both tables; the first partitions cover the image.
        var efi = r.Extents["boot/efiboot.img"];
        var raw = Report(dir["ours.iso"]);
        Assert.Matches($@"MBR partition\s+:\s+1\s+0x80\s+0x00\s+0\s+{r.Size / 512}\b", raw);
        Assert.Matches($@"MBR partition\s+:\s+2\s+0x00\s+0xef\s+{efi.Lba * 4}\s+{efi.Length / 512}\b", raw);
        Assert.Matches($@"GPT start and size :\s+2\s+{efi.Lba * 4}\s+{efi.Length / 512}\b", raw);
        Assert.Matches($@"GPT start and size :\s+1\s+0\s+{r.Size / 512 - 64}\b", raw);

        // The isohdpfx MBR finds isolinux.bin through the 512-byte LBA at byte 432.
        using var f = File.OpenRead(dir["ours.iso"]);
        var mbr = new byte[512];
        f.ReadExactly(mbr);
        Assert.Equal((ulong)r.Extents["isolinux/isolinux.bin"].Lba * 4, BitConverter.ToUInt64(mbr, 432));
        Assert.Equal(File.ReadAllBytes(IsohdpfxPath)[..432], mbr[..432]);
    }

    /// <summary>The report with GUIDs, the MBR signature and block addresses that depend on where the files were put replaced by placeholders.</summary>
    private static List<string> Normalize(string report) => report.Split('\n')
        .Where(l => Regex.IsMatch(l, "^(System area|ISO image size|Partition offset|MBR|GPT)"))
        .Select(l => Regex.Replace(l, "[0-9a-f]{32}", m => m.Value.Substring(16, 16) is var s && IsTypeGuid(m.Value) ? m.Value : "GUID"))
        .Select(l => Regex.Replace(l, @"^(MBR partition\s+:\s+2\s+\S+\s+\S+\s+)\d+", "$1START"))
        .Select(l => Regex.Replace(l, @"^(GPT start and size :\s+2\s+)\d+", "$1START"))
        .ToList();

    private static bool IsTypeGuid(string hex) => hex == "a2a0d0ebe5b9334487c068b6b72699c7";

    [Fact]
    public void FdiskAndTheKernelReadTheHybridPartitions()
    {
        DiskTools.Require("fdisk", "mkfs.vfat", "mcopy");
        using var dir = new TempDir();
        var tree = BootTree(MakeEfiImage(dir["efiboot.img"]));
        var r = IsoWriter.Build(tree, BiosAndEfi(hybrid: true), dir["x.iso"]);
        var efi = r.Extents["boot/efiboot.img"];
        long sectors = r.Size / 512;
        var fdisk = DiskTools.Run("fdisk", ["-l", dir["x.iso"]]).Out;
        Assert.Contains("Disklabel type: dos", fdisk);
        Assert.Matches($@"x\.iso1\s+\*\s+0\s+{sectors - 1}\s+{sectors}\s+\S+\s+0 Empty", fdisk);
        Assert.Matches($@"x\.iso2\s+{efi.Lba * 4}\s+{efi.Lba * 4 + efi.Length / 512 - 1}\s+{efi.Length / 512}\s+\S+\s+ef EFI", fdisk);
        // gdisk reads the GPT when told to prefer it over the MBR (answer 2); it leaves out partition 1, which overlaps the
        // table, as it does on xorriso's own images.
        if (DiskTools.Find("gdisk") != null)
        {
            var gpt = DiskTools.Run("gdisk", [dir["x.iso"]], check: false, stdin: "2\np\nq\n").Out;
            Assert.Contains("Found valid MBR and GPT", gpt);
            Assert.Contains("Partition table holds up to 248 entries", gpt);
            Assert.Contains($"First usable sector is 64, last usable sector is {sectors - 64}", gpt);
            Assert.Matches($@"\n\s+2\s+{efi.Lba * 4}\s+{efi.Lba * 4 + efi.Length / 512 - 1}\s+.*0700\s+ISOHybrid1", gpt);
        }

        DiskTools.RequireRootAndLoop();
        // The kernel scans the table on losetup -P; a kernel built without the MBR parser (this CI VM's) gets the
        // partitions from partx, which reads them with libblkid and adds them through BLKPG, one at a time (BLKPG
        // refuses overlapping partitions, and partition 1 covers partition 2 on every isohybrid image).
        string loop = DiskTools.Run("losetup", ["--find", "--show", "--read-only", "-P", dir["x.iso"]]).Out.Trim();
        bool partx = false;
        string? node = null;
        try
        {
            string part = Path.GetFileName(loop) + "p2", sys = $"/sys/class/block/{part}";
            for (int i = 0; i < 10 && !Directory.Exists(sys); i++) Thread.Sleep(100);
            if (!Directory.Exists(sys)) { DiskTools.Run("partx", ["-a", "--nr", "2", loop]); partx = true; }
            Assert.True(Directory.Exists(sys), $"neither the kernel nor partx found partition 2 on {loop}");
            Assert.Equal((efi.Lba * 4).ToString(), File.ReadAllText($"{sys}/start").Trim());
            Assert.Equal((efi.Length / 512).ToString(), File.ReadAllText($"{sys}/size").Trim());
            string dev = "/dev/" + part;
            if (!File.Exists(dev))
            {
                var mm = File.ReadAllText($"{sys}/dev").Trim().Split(':');
                DiskTools.Run("mknod", [dev, "b", mm[0], mm[1]]);
                node = dev;
            }
            Assert.Equal(DiskTools.Sha256(dir["efiboot.img"]), DiskTools.Sha256(dev));
            if (partx)
            {
                DiskTools.Run("partx", ["-d", "--nr", "2", loop]);
                DiskTools.Run("partx", ["-a", "--nr", "1", loop]);
            }
            string p1 = $"/sys/class/block/{Path.GetFileName(loop)}p1";
            Assert.Equal("0", File.ReadAllText($"{p1}/start").Trim());
            Assert.Equal(sectors.ToString(), File.ReadAllText($"{p1}/size").Trim());
        }
        finally
        {
            if (node != null) File.Delete(node);
            if (partx) DiskTools.Run("partx", ["-d", loop], check: false);
            DiskTools.Run("losetup", ["-d", loop], check: false);
        }

        // Where the kernel has vfat, firmware's view: the EFI partition mounts and holds the image's files.
        if (!File.ReadAllLines("/proc/filesystems").Any(l => l.EndsWith("\tvfat", StringComparison.Ordinal))) return;
        Directory.CreateDirectory(dir["mnt"]);
        using var m = LoopMount.Mount(dir["x.iso"], dir["mnt"], "vfat", partitions: true, partition: 2);
        Assert.Equal("efi partition\n", File.ReadAllText(dir["mnt/EFI-MARKER.TXT"]));
    }
}
