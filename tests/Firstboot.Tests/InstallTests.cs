// The installer (appliance.mode=install): the raw image reproduced on a loop device from the medium's payload, then first boot; every refusal.
using System.Text.Json.Nodes;
using Appliance.Common;
using Appliance.Firstboot.Tests.Support;

namespace Appliance.Firstboot.Tests;

/// <summary>
/// A raw image is built in process, its ISO payload made by <c>IsoInstallPayload</c> and laid out as the mounted
/// medium under <c>--root</c>; <c>appliance-firstboot run</c> with <c>appliance.mode=install</c> on the kernel command
/// line writes it to an empty loop device (device actions off: nothing is powered off).
/// </summary>
[Collection(LoopCollection.Name)]
[Trait("Category", "External")]
public sealed class InstallTests
{
    private const long GiB = 1L << 30;

    private static ProcessResult Install(TestDisk disk)
    {
        var (file, args) = TestDisk.Command(["run", "--root", disk.Root, "--device-actions", "off", "--no-set-clock", "--no-supervise"]);
        return ProcessRunner.Run(file, args, new ProcessOptions { Timeout = TimeSpan.FromMinutes(5) });
    }

    private static JsonObject Status(TestDisk disk) => (JsonObject)JsonNode.Parse(File.ReadAllText(disk.Paths.Status))!;

    /// <summary>Builds the image (site.yaml as given) and lays out the install medium under the disk's prefix; returns the image path.</summary>
    private static (string Image, Appliance.ImageBuilder.Disk.Image.DiskImageResult Result) Medium(TestDisk disk, TempDir dir, string siteYaml, long minimumDisk)
    {
        var image = dir["site.img"];
        var (result, boot) = TestDisk.BuildImage(image, siteYaml: siteYaml);
        TestMedium.Write(image, result, boot, disk.Paths, minimumDisk, "install");
        return (image, result);
    }

    private static bool Zeros(string device, long length)
    {
        using var f = new FileStream(device, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var buf = new byte[length];
        f.ReadExactly(buf);
        return buf.AsSpan().IndexOfAnyExcept((byte)0) < 0;
    }

    /// <summary>
    /// The loop device ends up holding the raw image's bytes over its whole length, with the table sfdisk reads;
    /// then the normal first boot partitions it (root-b, data, backup GPT at the end) and completes, as on a disk the
    /// image was written to raw.
    /// </summary>
    [Fact]
    public void Install_ReproducesTheRawImage_ThenFirstbootCompletesOnIt()
    {
        TestDisk.RequireLoop();
        using var disk = TestDisk.Blank(2 * GiB);
        using var dir = new TempDir("install-");
        var (image, result) = Medium(disk, dir, TestDisk.SiteYaml(installDisk: disk.Device), GiB);

        var r = Install(disk);
        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        Assert.Contains($"INSTALLED to {disk.Device}: remove the medium; the machine powers off", r.Out);
        Assert.Contains("power off: skipped (device actions off)", r.Error);
        Assert.Contains("root-a read back from", r.Error);
        var status = Status(disk);
        Assert.Equal("installed", status["node"]!["state"]!.GetValue<string>());
        Assert.Equal("install", status["mode"]!.GetValue<string>());
        Assert.Null(status["reason"]);

        Assert.Equal(Convert.ToHexStringLower(FileSha256.Hash(image)), Convert.ToHexStringLower(FileSha256.Hash(disk.Device, 0, result.Size)));
        Assert.Equal(Convert.ToHexStringLower(result.Sha256!), Convert.ToHexStringLower(FileSha256.Hash(disk.Device, 0, result.Size)));
        var parts = JsonNode.Parse(ProcessRunner.Run("sfdisk", ["--json", disk.Device]).Ok().Out)!["partitiontable"]!["partitions"]!.AsArray();
        Assert.Equal(["boot", "root-a"], parts.Select(p => p!["name"]!.GetValue<string>()));
        Assert.Equal(result["root-a"].Offset / 512, parts[1]!["start"]!.GetValue<long>());

        // A second run in the same boot (init respawning firstboot) does not write the disk again.
        var again = Install(disk);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("already ran in this boot", again.Error);

        // The next boot is from the disk: no medium, no mode, a fresh /run.
        Directory.Delete(disk.Paths.Run, recursive: true);
        File.Delete(disk.Paths.CmdLine);
        disk.ReadPartitions();
        var boot = disk.Run();
        Assert.True(boot.ExitCode == 0, boot.Out + boot.Error);
        Assert.Contains("No problems found", ProcessRunner.Run("sgdisk", ["-v", disk.Device]).Out);
        parts = JsonNode.Parse(ProcessRunner.Run("sfdisk", ["--json", disk.Device]).Ok().Out)!["partitiontable"]!["partitions"]!.AsArray();
        Assert.Equal(["boot", "root-a", "root-b", "data"], parts.Select(p => p!["name"]!.GetValue<string>()));
        Assert.Equal(2 * GiB / 512 - 34, parts[3]!["start"]!.GetValue<long>() + parts[3]!["size"]!.GetValue<long>() - 1);
        Assert.True(disk.DataMounted);
        Assert.Equal(TestDisk.Token + "\n", File.ReadAllText(Path.Combine(disk.Paths.Runtime, "token")));
        PowerCutTests.AssertNoSecretOnBoot(disk);
    }

    /// <summary>A disk smaller than the image's minimum: both sizes in the reason, nothing written, nothing powered off.</summary>
    [Fact]
    public void DiskSmallerThanTheMinimum_IsRefused_WithBothSizes_AndLeftUntouched()
    {
        TestDisk.RequireLoop();
        using var disk = TestDisk.Blank(1536L << 20);
        using var dir = new TempDir("install-");
        Medium(disk, dir, TestDisk.SiteYaml(minimumDisk: "4GiB", installDisk: disk.Device), 4 * GiB);

        var r = Install(disk);
        Assert.Equal(1, r.ExitCode);
        var reason = Status(disk)["reason"]!.GetValue<string>();
        Assert.Equal($"the disk {disk.Device} is 1.5 GiB, smaller than the 4 GiB this image needs (target.diskSize); nothing was written: use a larger disk", reason);
        Assert.Equal("failed", Status(disk)["node"]!["state"]!.GetValue<string>());
        Assert.Contains("FAILED    at install: the disk", r.Out);
        Assert.Contains("NOT INSTALLED: the machine stays on", r.Out);
        Assert.DoesNotContain("power off", r.Error);
        Assert.True(Zeros(disk.Device, 4 << 20));
    }

    /// <summary>The medium's root.squashfs damaged: the read-back digest differs from the signed one; the medium is named, no table is written.</summary>
    [Fact]
    public void DamagedRootOnTheMedium_IsFoundByTheReadBack_AndNoTableIsWritten()
    {
        TestDisk.RequireLoop();
        using var disk = TestDisk.Blank(2 * GiB);
        using var dir = new TempDir("install-");
        var (_, result) = Medium(disk, dir, TestDisk.SiteYaml(installDisk: disk.Device), GiB);
        var squash = Path.Combine(disk.Paths.Medium, "appliance/root.squashfs");
        using (var f = new FileStream(squash, FileMode.Open, FileAccess.ReadWrite))
        {
            f.Position = f.Length / 2;
            int b = f.ReadByte();
            f.Position = f.Length / 2;
            f.WriteByte((byte)(b ^ 0x5A));
        }

        var r = Install(disk);
        Assert.Equal(1, r.ExitCode);
        var reason = Status(disk)["reason"]!.GetValue<string>();
        Assert.StartsWith("the medium's appliance/root.squashfs does not hold the signed root-a: the partition would have SHA-256 ", reason);
        Assert.Contains($"the build's manifest says {Convert.ToHexStringLower(result["root-a"].Sha256!)}; the medium is damaged: make it again (no partition table was written to {disk.Device})", reason);
        Assert.DoesNotContain("power off", r.Error);
        Assert.True(Zeros(disk.Device, 1 << 20));
        Assert.NotEqual(0, ProcessRunner.Run("sfdisk", ["--dump", disk.Device]).ExitCode);
    }

    /// <summary>target.installDisk naming a device that is not there: refused with the name; the other disks listed.</summary>
    [Fact]
    public void InstallDiskThatDoesNotExist_IsRefused()
    {
        TestDisk.RequireLoop();
        using var disk = TestDisk.Blank(2 * GiB);
        using var dir = new TempDir("install-");
        Medium(disk, dir, TestDisk.SiteYaml(installDisk: "/dev/appliance-test-no-such-disk"), GiB);
        FakeSys.Write(disk.Paths, ("vda", 8 * GiB, false));

        var r = Install(disk);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("target.installDisk /dev/appliance-test-no-such-disk does not exist on this machine (the disks here: /dev/vda (8 GiB)); " +
            "correct target.installDisk in the profile and build the medium again", Status(disk)["reason"]!.GetValue<string>());
        Assert.DoesNotContain("power off", r.Error);
        Assert.True(Zeros(disk.Device, 1 << 20));
    }

    /// <summary>Two candidate disks and no target.installDisk: refused, both listed with their sizes; removable, optical, loop and zram devices are not candidates.</summary>
    [Fact]
    public void TwoCandidateDisks_WithoutInstallDisk_AreRefused_ListingThem()
    {
        using var dir = new TempDir("install-");
        var paths = new FirstbootPaths(dir["root"]);
        var image = dir["site.img"];
        var (result, boot) = TestDisk.BuildImage(image);
        TestMedium.Write(image, result, boot, paths, GiB, "install");
        Directory.CreateDirectory(Path.Combine(paths.Root, "etc/appliance"));
        FakeSys.Write(paths, ("vda", 8 * GiB, false), ("vdb", 16 * GiB, false), ("sdc", 32 * GiB, true), ("sr0", 700L << 20, false),
            ("loop0", GiB, false), ("zram0", GiB, false));

        var (file, args) = TestDisk.Command(["run", "--root", paths.Root, "--device-actions", "off", "--no-set-clock", "--no-supervise"]);
        var r = ProcessRunner.Run(file, args);
        Assert.Equal(1, r.ExitCode);
        var status = (JsonObject)JsonNode.Parse(File.ReadAllText(paths.Status))!;
        Assert.Equal("2 disks could be the target: /dev/vda (8 GiB), /dev/vdb (16 GiB); the installer does not guess: set target.installDisk " +
            "in the profile to one of them and build the medium again", status["reason"]!.GetValue<string>());
        Assert.Equal("install", status["step"]!.GetValue<string>());
        Assert.Contains("FAILED    at install: 2 disks could be the target", r.Out);
        Assert.DoesNotContain("power off", r.Error);
        Assert.True(File.Exists(paths.InstallDone));
    }
}

/// <summary>A stand-in for /sys/block under a device prefix: whole disks with size, removable flag and device number.</summary>
public static class FakeSys
{
    /// <summary>Writes the disks (kernel name, size, removable) below <c>PREFIX/sys/block</c>.</summary>
    public static void Write(FirstbootPaths paths, params (string Name, long Bytes, bool Removable)[] disks)
    {
        int minor = 0;
        foreach (var (name, bytes, removable) in disks)
        {
            var d = Path.Combine(paths.SysBlock, name);
            Directory.CreateDirectory(d);
            File.WriteAllText(Path.Combine(d, "size"), $"{bytes / 512}\n");
            File.WriteAllText(Path.Combine(d, "removable"), removable ? "1\n" : "0\n");
            File.WriteAllText(Path.Combine(d, "dev"), $"252:{minor}\n");
            minor += 16;
        }
    }
}
