// Reads real host directories (setcap'd files, hard links, devices, read-only files) and checks them through each writer.
using Appliance.ImageBuilder.Disk.Cpio;
using Appliance.ImageBuilder.Disk.Fat;
using Appliance.ImageBuilder.Disk.SquashFs;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Tests.Disk;

[Trait("Category", "External")]
public sealed class HostTreeTests
{
    private static void RequireRoot()
    {
        if (DiskTools.Run("id", ["-u"]).Out.Trim() != "0") Assert.Skip("needs root to create devices, set owners and capabilities");
    }

    private static void MakeHostTree(string root)
    {
        DiskTools.WriteSampleHostTree(root);
        File.WriteAllText(Path.Combine(root, "ping"), "#!/bin/sh\n");
        DiskTools.Run("setcap", ["cap_net_raw,cap_net_admin+ep", Path.Combine(root, "ping")]);
        DiskTools.Run("setfattr", ["-n", "user.origin", "-v", "host", Path.Combine(root, "etc/app/config.yaml")]);
        DiskTools.Run("ln", [Path.Combine(root, "big.bin"), Path.Combine(root, "hard-link-to-big")]);
        DiskTools.Run("ln", ["-s", "etc/app/config.yaml", Path.Combine(root, "config-link")]);
        DiskTools.Run("mkfifo", [Path.Combine(root, "fifo")]);
        DiskTools.Run("mknod", [Path.Combine(root, "null"), "c", "1", "3"]);
        DiskTools.Run("mknod", [Path.Combine(root, "disk"), "b", "8", "16"]);
        DiskTools.Run("chown", ["-h", "1234:5678", Path.Combine(root, "config-link")]);
        DiskTools.Run("chown", ["1000:1000", Path.Combine(root, "etc/app")]);
        DiskTools.Run("chmod", ["4755", Path.Combine(root, "big.bin")]);
        DiskTools.Run("touch", ["-h", "-d", "@1600000000", Path.Combine(root, "config-link")]);
    }

    [Fact]
    public void HostTreeSurvivesSquashFsWithCapabilitiesLinksAndDevices()
    {
        RequireRoot();
        DiskTools.Require("unsquashfs", "getcap", "setcap", "setfattr", "getfattr");
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["src"]);
        MakeHostTree(dir["src"]);
        var tree = FileTree.FromDirectory(dir["src"]);
        Assert.Equal(FileNodeType.HardLink, tree.Find("hard-link-to-big")!.Type);
        Assert.Equal(2, tree.Find("big.bin")!.LinkCount);
        Assert.True(tree.Find("ping")!.Xattrs.ContainsKey("security.capability"));
        new SquashFsBuilder(tree).Build(dir["fs.sqfs"]);
        DiskTools.Run("unsquashfs", ["-q", "-d", dir["out"], dir["fs.sqfs"]]);
        Assert.Equal(DiskTools.HostListing(dir["src"]), DiskTools.HostListing(dir["out"]));
        Assert.Equal(DiskTools.FileDigests(dir["src"]), DiskTools.FileDigests(dir["out"]));
        Assert.Contains("cap_net_admin,cap_net_raw=ep", DiskTools.Run("getcap", [dir["out"] + "/ping"]).Out);
        Assert.Contains("user.origin=\"host\"", DiskTools.Run("getfattr", ["-d", dir["out"] + "/etc/app/config.yaml"]).Out);
    }

    [Fact]
    public void SourceDateEpochClampsTimesAndTwoBuildsAreByteIdentical()
    {
        DiskTools.Require("sha256sum");
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["src"]);
        DiskTools.WriteSampleHostTree(dir["src"]);
        const long epoch = 1_700_000_000;
        var opts = new FileTreeOptions { SourceDateEpoch = epoch, Uid = 0, Gid = 0 };
        var t1 = FileTree.FromDirectory(dir["src"], opts);
        Assert.All(t1.Walk(), n => Assert.True(n.MTime <= epoch));
        foreach (var round in new[] { "1", "2" })
        {
            var t = FileTree.FromDirectory(dir["src"], opts);
            new SquashFsBuilder(t, new SquashFsOptions { ModificationTime = epoch }).Build(dir[$"fs{round}.sqfs"]);
            new FatBuilder(t, 40L << 20, new FatOptions { VolumeLabel = "BOOT" }).Build(dir[$"fat{round}.img"]);
            using (var f = File.Create(dir[$"a{round}.cpio"])) CpioWriter.Write(t, f);
            var plan = Appliance.ImageBuilder.Disk.Image.DiskImagePlan.BootAndRoot(t, 40L << 20, t, diskSize: 128L << 20);
            Appliance.ImageBuilder.Disk.Image.DiskImageBuilder.Build(plan, dir[$"disk{round}.img"]);
            // Touch the sources between rounds: times after the epoch must not matter.
            File.SetLastWriteTimeUtc(dir["src"] + "/big.bin", DateTime.UtcNow);
        }
        foreach (var name in new[] { "fs{0}.sqfs", "fat{0}.img", "a{0}.cpio", "disk{0}.img" })
            Assert.Equal(DiskTools.Sha256(dir[string.Format(name, 1)]), DiskTools.Sha256(dir[string.Format(name, 2)]));
    }

    [Fact]
    public void ReadOnlySourceFilesAreReadWithoutWriteAccess()
    {
        DiskTools.Require("unsquashfs", "mcopy");
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["src/sub"]);
        File.WriteAllText(dir["src/sub/ro.txt"], "read only\n");
        DiskTools.Run("chmod", ["0444", dir["src/sub/ro.txt"]]);
        bool bound = false;
        string source = dir["src"];
        if (DiskTools.Run("id", ["-u"]).Out.Trim() == "0")
        {
            // As root, permission bits do not stop writes; a read-only bind mount does.
            Directory.CreateDirectory(dir["ro"]);
            DiskTools.Run("mount", ["--bind", "-o", "ro", dir["src"], dir["ro"]]);
            DiskTools.Run("mount", ["-o", "remount,bind,ro", dir["ro"]]);
            bound = true;
            source = dir["ro"];
        }
        try
        {
            var tree = FileTree.FromDirectory(source);
            Assert.Equal(0b100_100_100, tree.Find("sub/ro.txt")!.Mode);
            new SquashFsBuilder(tree).Build(dir["fs.sqfs"]);
            new FatBuilder(tree, 40L << 20).Build(dir["fat.img"]);
            DiskTools.Run("unsquashfs", ["-q", "-d", dir["out"], dir["fs.sqfs"]]);
            Assert.Equal("read only\n", File.ReadAllText(dir["out/sub/ro.txt"]));
            Assert.Contains("-r--r--r--", DiskTools.Run("unsquashfs", ["-lln", dir["fs.sqfs"]]).Out);
            DiskTools.Run("mcopy", ["-n", "-i", dir["fat.img"], "::/sub/ro.txt", dir["ro-copy.txt"]]);
            Assert.Equal("read only\n", File.ReadAllText(dir["ro-copy.txt"]));
            var attrs = DiskTools.Run("mattrib", ["-i", dir["fat.img"], "::/sub/ro.txt"]).Out;
            Assert.Contains("R", attrs[..attrs.IndexOf("::", StringComparison.Ordinal)]);
        }
        finally
        {
            if (bound) DiskTools.Run("umount", [dir["ro"]], check: false);
        }
    }
}
