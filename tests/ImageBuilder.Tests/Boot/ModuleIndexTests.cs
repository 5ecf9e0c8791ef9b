// Unit tests of the modules.dep resolver and of the boot targets' generated configuration.
using Appliance.ImageBuilder.Boards;
using Appliance.ImageBuilder.Boot;
using Appliance.ImageBuilder.Boot.Initramfs;
using Appliance.ImageBuilder.Boot.RaspberryPi;
using Appliance.ImageBuilder.Boot.SystemdBoot;

namespace Appliance.ImageBuilder.Tests.Boot;

/// <summary>modules.dep resolution as modprobe would load the modules, and the targets' config text.</summary>
[Trait("Category", "Unit")]
public sealed class ModuleIndexTests
{
    private const string Dep =
        "kernel/fs/squashfs/squashfs.ko:\n" +
        "kernel/fs/fat/fat.ko:\n" +
        "kernel/fs/fat/vfat.ko: kernel/fs/fat/fat.ko\n" +
        "kernel/fs/nls/nls_iso8859-1.ko:\n" +
        "kernel/drivers/virtio/virtio.ko:\n" +
        "kernel/drivers/virtio/virtio_ring.ko:\n" +
        "kernel/drivers/virtio/virtio_pci_modern_dev.ko:\n" +
        "kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n" +
        "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n";

    private static ModuleIndex Index() => ModuleIndex.Parse("6.1.0-test", Dep, "kernel/fs/ext4/ext4.ko\nkernel/fs/overlayfs/overlay.ko\n", "test");

    /// <summary>Dependencies come before the modules that need them, each once.</summary>
    [Fact]
    public void Resolve_OrdersDependenciesFirst_WithoutDuplicates()
    {
        var order = Index().Resolve(["virtio_blk", "virtio_pci", "vfat"], []);
        Assert.Equal(
        [
            "kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko", "kernel/drivers/block/virtio_blk.ko",
            "kernel/drivers/virtio/virtio_pci_modern_dev.ko", "kernel/drivers/virtio/virtio_pci.ko",
            "kernel/fs/fat/fat.ko", "kernel/fs/fat/vfat.ko",
        ], order);
    }

    /// <summary>Built-in modules need nothing; '-' and '_' are the same in names.</summary>
    [Fact]
    public void Resolve_SkipsBuiltins_AndNormalisesDashes()
    {
        var order = Index().Resolve(["overlay", "ext4", "nls_iso8859_1"], []);
        Assert.Equal(["kernel/fs/nls/nls_iso8859-1.ko"], order);
    }

    /// <summary>A required module the kernel lacks is an error naming it; an optional one is skipped.</summary>
    [Fact]
    public void Resolve_MissingRequired_Throws_MissingOptional_IsSkipped()
    {
        var e = Assert.Throws<InvalidDataException>(() => Index().Resolve(["sdhci_iproc"], []));
        Assert.Contains("kernel 6.1.0-test has no module 'sdhci_iproc'", e.Message);
        Assert.Equal(["kernel/fs/squashfs/squashfs.ko"], Index().Resolve(["squashfs"], ["nvme", "uas"]));
    }

    /// <summary>A malformed line is reported with its line number.</summary>
    [Fact]
    public void Parse_BadLine_ReportsLine()
    {
        var e = Assert.Throws<InvalidDataException>(() => ModuleIndex.Parse("v", "a.ko:\nbroken line\n", null, "root/lib/modules/v"));
        Assert.Contains("modules.dep:2", e.Message);
    }

    /// <summary>The BLS entry carries a +3 boot counter and the slot on the command line; loader.conf picks appliance entries without a menu.</summary>
    [Fact]
    public void SystemdBoot_EntryHasBootCounter()
    {
        var t = (SystemdBootTarget)Board.X86_64Uefi.BootTarget;
        Assert.Equal("appliance-a+3.conf", SystemdBootTarget.EntryFileName("a"));
        var entry = t.Entry(new BootSlot("b", [], "Appliance v1"));
        Assert.Contains("linux /b/vmlinuz\n", entry);
        Assert.Contains("initrd /b/initrd.img\n", entry);
        Assert.Contains("console=ttyS0,115200 appliance.slot=b", entry);
        Assert.Contains("timeout 0\n", SystemdBootTarget.LoaderConf);
        Assert.Contains("default appliance-*\n", SystemdBootTarget.LoaderConf);
    }

    /// <summary>config.txt asks for a 64-bit kernel only on arm64, and both Pi targets use os_prefix slots with a tryboot section.</summary>
    [Fact]
    public void RaspberryPi_ConfigTxt()
    {
        var arm64 = ((RaspberryPiTarget)Board.Arm64Rpi.BootTarget).ConfigTxt();
        var armv7 = ((RaspberryPiTarget)Board.Armv7Rpi.BootTarget).ConfigTxt();
        Assert.Contains("arm_64bit=1\n", arm64);
        Assert.DoesNotContain("arm_64bit", armv7);
        foreach (var c in new[] { arm64, armv7 })
        {
            Assert.Contains("os_prefix=a/\n", c);
            Assert.Contains("[tryboot]\nos_prefix=b/\n", c);
            Assert.Contains("initramfs initrd.img followkernel\n", c);
            // As the firmware reads it: slot a normally, slot b on a tryboot, the CM4's device tree by its upstream name.
            Assert.Equal("a/", PiFirmware.Settings(c, "pi4", tryboot: false)["os_prefix"]);
            Assert.Equal("b/", PiFirmware.Settings(c, "pi3", tryboot: true)["os_prefix"]);
            Assert.Equal("bcm2711-rpi-cm4-io.dtb", PiFirmware.Settings(c, "cm4", tryboot: true)["device_tree"]);
            Assert.False(PiFirmware.Settings(c, "pi4", tryboot: true).ContainsKey("device_tree"));
        }
        foreach (var b in new[] { Board.Arm64Rpi, Board.Armv7Rpi })
            Assert.Contains(" console=serial0,115200 ", b.BootTarget.KernelCommandLine("a"));
        Assert.Contains("tryboot_a_b=1\n", RaspberryPiTarget.AutobootTxt);
        Assert.True(RaspberryPiTarget.IsFirmwareFile("start4.elf"));
        Assert.True(RaspberryPiTarget.IsFirmwareFile("fixup4cd.dat"));
        Assert.False(RaspberryPiTarget.IsFirmwareFile("LICENCE.broadcom"));
    }
}
