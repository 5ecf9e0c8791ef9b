// Checks built images with the real tools: sgdisk, sfdisk, fsck.fat, mtools, unsquashfs.
using System.Text.Json;
using Appliance.ImageBuilder.Tests.Disk;

namespace Appliance.ImageBuilder.Tests.Boot;

/// <summary>Partition tables, the boot file system and the root slot of built images, as the standard tools see them.</summary>
[Collection("appliance-boot")]
[Trait("Category", "External")]
public sealed class ImageCheckTests
{
    private static string ExtractPartition(BuiltImage img, string name)
    {
        var (offset, size, _) = BootTestSupport.Partitions(img)[name];
        var path = Path.Combine(BootTestSupport.WorkDir, $"{img.Board}-{name}-{Guid.NewGuid():N}.part");
        using var src = File.OpenRead(img.ImagePath);
        using var dst = File.Create(path);
        src.Position = offset;
        var buf = new byte[1 << 20];
        for (long left = size; left > 0;)
        {
            int n = src.Read(buf, 0, (int)Math.Min(buf.Length, left));
            if (n == 0) throw new EndOfStreamException($"{img.ImagePath}: partition {name} runs past the end of the image");
            dst.Write(buf, 0, n);
            left -= n;
        }
        return path;
    }

    /// <summary>
    /// UEFI image: GPT passes sgdisk -v; the ESP and root-a carry their names and types, and the image ends with the
    /// backup GPT right after root-a (root-b and data are made on the device); the ESP passes fsck.fat and holds
    /// systemd-boot with a counted BLS entry.
    /// </summary>
    [Fact]
    public void X86_64Uefi_GptEspAndRootAreValid()
    {
        BootTestSupport.RequireTools("sgdisk", "fsck.fat", "mcopy", "unsquashfs");
        var img = BootTestSupport.Image("x86_64-uefi");
        var v = DiskTools.Run("sgdisk", ["-v", img.ImagePath]);
        Assert.Contains("No problems found", v.Out);
        var p = DiskTools.Run("sgdisk", ["-p", img.ImagePath]).Out;
        Assert.Matches(@"1\s+\d+\s+\d+\s+256\.0 MiB\s+EF00\s+boot", p);
        Assert.Matches(@"2\s+\d+\s+\d+\s+[\d.]+ MiB\s+8300\s+root-a", p);
        Assert.DoesNotMatch(@"(?m)^\s+3\s", p);
        var rootA = BootTestSupport.Partitions(img)["root-a"];
        Assert.Equal(rootA.Offset + rootA.Size + 33 * 512, new FileInfo(img.ImagePath).Length);
        var esp = ExtractPartition(img, "boot");
        try { Assert.Equal(0, DiskTools.Run("fsck.fat", ["-n", esp], check: false).ExitCode); }
        finally { File.Delete(esp); }

        var files = BootTestSupport.FatDigests(img.ImagePath, BootTestSupport.Partitions(img)["boot"].Offset);
        foreach (var f in new[] { "EFI/BOOT/BOOTX64.EFI", "loader/loader.conf", "loader/entries/appliance-a+3.conf", "a/vmlinuz", "a/initrd.img", "appliance/site.yaml" })
            Assert.True(files.ContainsKey(f), $"{f} missing from the ESP: {string.Join(", ", files.Keys)}");
        var entry = System.Text.Encoding.UTF8.GetString(BootTestSupport.ReadFatFile(img.ImagePath, BootTestSupport.Partitions(img)["boot"].Offset, "loader/entries/appliance-a+3.conf"));
        Assert.Contains("linux /a/vmlinuz", entry);
        Assert.Contains("appliance.slot=a", entry);

        var list = DiskTools.Run("unsquashfs", ["-o", BootTestSupport.Partitions(img)["root-a"].Offset.ToString(), "-lls", img.ImagePath]).Out;
        foreach (var f in new[] { "usr/lib/appliance/rc.boot", "usr/lib/appliance/appliance-runtime", "etc/appliance/build.json", "var/lib/dpkg/status", "etc/inittab" })
            Assert.Contains(f, list);
    }

    /// <summary>
    /// Pi image: MBR as sfdisk reads it (FAT32 LBA bootable, then root-a; the image ends where root-a ends); the boot
    /// partition passes fsck.fat and holds the firmware, config.txt, autoboot.txt and DTBs, cmdline.txt names the console
    /// serial0, and everything the Pi 4, Pi 400 and Compute Module 4 firmware loads for slot a is there.
    /// </summary>
    [Fact]
    public void Arm64Rpi_MbrAndFirmwarePartitionAreValid()
    {
        BootTestSupport.RequireTools("sfdisk", "fsck.fat", "mcopy");
        var img = BootTestSupport.Image("arm64-rpi");
        using var doc = JsonDocument.Parse(DiskTools.Run("sfdisk", ["--json", img.ImagePath]).Out);
        var table = doc.RootElement.GetProperty("partitiontable");
        Assert.Equal("dos", table.GetProperty("label").GetString());
        var parts = table.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(2, parts.Count);
        Assert.Equal("c", parts[0].GetProperty("type").GetString());
        Assert.True(parts[0].TryGetProperty("bootable", out var b) && b.GetBoolean());
        Assert.Equal("83", parts[1].GetProperty("type").GetString());
        Assert.Equal((parts[1].GetProperty("start").GetInt64() + parts[1].GetProperty("size").GetInt64()) * 512, new FileInfo(img.ImagePath).Length);

        var fat = ExtractPartition(img, "boot");
        try { Assert.Equal(0, DiskTools.Run("fsck.fat", ["-n", fat], check: false).ExitCode); }
        finally { File.Delete(fat); }
        var offset = BootTestSupport.Partitions(img)["boot"].Offset;
        var files = BootTestSupport.FatDigests(img.ImagePath, offset);
        foreach (var f in new[] { "bootcode.bin", "start.elf", "fixup.dat", "start4.elf", "fixup4.dat", "config.txt", "autoboot.txt",
                                  "a/vmlinuz", "a/initrd.img", "a/cmdline.txt", "a/bcm2837-rpi-3-b.dtb", "a/bcm2711-rpi-4-b.dtb", "appliance/site.yaml" })
            Assert.True(files.ContainsKey(f), $"{f} missing from the Pi boot partition: {string.Join(", ", files.Keys)}");
        var config = System.Text.Encoding.UTF8.GetString(BootTestSupport.ReadFatFile(img.ImagePath, offset, "config.txt"));
        Assert.Contains("arm_64bit=1", config);
        Assert.Contains("os_prefix=a/", config);
        Assert.Contains("[tryboot]", config);
        Assert.Contains("tryboot_a_b=1", System.Text.Encoding.UTF8.GetString(BootTestSupport.ReadFatFile(img.ImagePath, offset, "autoboot.txt")));
        Assert.Contains("console=serial0,115200", System.Text.Encoding.UTF8.GetString(BootTestSupport.ReadFatFile(img.ImagePath, offset, "a/cmdline.txt")));

        // The Pi 4 family, file by file as its firmware reads the card: start4.elf and fixup4.dat (the Pi 4's start_file
        // and fixup_file), then config.txt for the model; with arm_64bit=1 it loads os_prefix + kernel, os_prefix +
        // initramfs, os_prefix + cmdline.txt and os_prefix + the model's device tree (device_tree= when set, else the
        // firmware's name for the model). On a tryboot the same names under slot b's prefix (written there by an upgrade).
        foreach (var (model, dtb) in new[] { ("pi4", "bcm2711-rpi-4-b.dtb"), ("pi400", "bcm2711-rpi-400.dtb"), ("cm4", "bcm2711-rpi-cm4.dtb") })
        {
            var normal = PiFirmware.Settings(config, model, tryboot: false);
            Assert.Equal("1", normal.GetValueOrDefault("arm_64bit"));
            Assert.Equal("a/", normal.GetValueOrDefault("os_prefix"));
            var wanted = new[] { "start4.elf", "fixup4.dat", "config.txt" }
                .Concat(new[] { normal["kernel"], normal["initramfs"], "cmdline.txt", normal.GetValueOrDefault("device_tree", dtb) }.Select(f => "a/" + f));
            foreach (var f in wanted)
                Assert.True(files.ContainsKey(f), $"the {model} firmware loads {f}, which is not on the boot partition: {string.Join(", ", files.Keys)}");
            var retry = PiFirmware.Settings(config, model, tryboot: true);
            Assert.Equal("b/", retry.GetValueOrDefault("os_prefix"));
            Assert.Equal((normal["kernel"], normal["initramfs"], normal.GetValueOrDefault("device_tree")), (retry["kernel"], retry["initramfs"], retry.GetValueOrDefault("device_tree")));
        }
    }

    /// <summary>The 32-bit Pi image asks for no 64-bit kernel and carries the Pi 2 device tree.</summary>
    [Fact]
    public void Armv7Rpi_ConfigIs32Bit()
    {
        BootTestSupport.RequireTools("mcopy");
        var img = BootTestSupport.Image("armv7-rpi");
        var offset = BootTestSupport.Partitions(img)["boot"].Offset;
        var config = System.Text.Encoding.UTF8.GetString(BootTestSupport.ReadFatFile(img.ImagePath, offset, "config.txt"));
        Assert.DoesNotContain("arm_64bit", config);
        Assert.True(BootTestSupport.FatDigests(img.ImagePath, offset).ContainsKey("a/bcm2836-rpi-2-b.dtb"));
    }
}
