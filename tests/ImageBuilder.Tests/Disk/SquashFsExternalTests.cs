// Checks our SquashFS images with unsquashfs, getcap and the kernel's own squashfs driver.
using Appliance.ImageBuilder.Disk.SquashFs;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Tests.Disk;

[Trait("Category", "External")]
public sealed class SquashFsExternalTests
{
    internal static FileTree SampleTree()
    {
        var t = new FileTree(1_700_000_000);
        t.AddDirectory("etc", 0b111_101_101, 0, 0);
        t.AddFile("etc/hostname", FileContent.FromText("edge-01\n"), 0b110_100_100, 0, 0);
        t.AddFile("etc/shadow", FileContent.FromText("root:*:1::::::\n"), 0b110_100_000, 0, 42);
        t.AddDirectory("home/user", 0b111_101_000, 1000, 1000);
        t.AddFile("home/user/notes.txt", FileContent.FromText("hello"), 0b110_100_100, 1000, 1000, 1_600_000_000);
        t.AddSymlink("etc/localtime", "/usr/share/zoneinfo/UTC");
        t.AddFile("usr/bin/tool", FileContent.FromBytes(Enumerable.Range(0, 400_000).Select(i => (byte)(i * 7 % 251)).ToArray()), 0b111_101_101);
        t.AddHardLink("usr/bin/tool-alias", "usr/bin/tool");
        t.AddFile("usr/bin/tool-copy", FileContent.FromBytes(Enumerable.Range(0, 400_000).Select(i => (byte)(i * 7 % 251)).ToArray()), 0b111_101_101);
        t.AddSpecial("dev/null", FileNodeType.CharDevice, 0b110_110_110, 1, 3);
        t.AddSpecial("dev/sda", FileNodeType.BlockDevice, 0b110_110_000, 8, 0, 0, 6);
        t.AddSpecial("dev/big-minor", FileNodeType.CharDevice, 0b110_000_000, 240, 300000);
        t.AddSpecial("run/fifo", FileNodeType.Fifo, 0b110_100_100);
        t.AddSpecial("run/sock", FileNodeType.Socket, 0b111_111_111);
        t.AddFile("empty", FileContent.FromBytes([]));
        t.AddDirectory("empty-dir");
        var ping = t.AddFile("usr/bin/ping", FileContent.FromText("#!/bin/sh\n"), 0b111_101_101);
        ping.Xattrs["security.capability"] = Convert.FromHexString("0100000200200000000000000000000000000000");
        ping.Xattrs["user.note"] = "x"u8.ToArray();
        t.Find("etc")!.Xattrs["user.dir"] = "d"u8.ToArray();
        return t;
    }

    [Fact]
    public void UnsquashfsListsExactlyTheTree()
    {
        DiskTools.Require("unsquashfs");
        using var dir = new TempDir();
        var tree = SampleTree();
        new SquashFsBuilder(tree).Build(dir["fs.sqfs"]);
        var r = DiskTools.Run("unsquashfs", ["-lln", dir["fs.sqfs"]]);
        var rx = new System.Text.RegularExpressions.Regex(@"^(\S+) (\S+)\s+(.*?)\s+(\d{4}-\d\d-\d\d \d\d:\d\d) squashfs-root(.*)$");
        var got = r.Out.Split('\n').Select(l => rx.Match(l)).Where(m => m.Success)
            .Select(m => Line(m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value, m.Groups[4].Value, m.Groups[5].Value)).ToList();
        var expected = new List<string>();
        foreach (var n in tree.Walk())
        {
            var i = n.Inode;
            string size = i.Type switch
            {
                FileNodeType.File => i.Size.ToString(),
                FileNodeType.Symlink => i.LinkTarget!.Length.ToString(),
                // unsquashfs -lln prints the stored word as (dev >> 8, dev & 0xff), so a minor above 255 shows up folded.
                FileNodeType.CharDevice or FileNodeType.BlockDevice => $"{Encoded(i) >> 8},{Encoded(i) & 0xFF}",
                _ => "0",
            };
            string time = DateTimeOffset.FromUnixTimeSeconds(i.MTime).UtcDateTime.ToString("yyyy-MM-dd HH:mm");
            string path = n.Path.Length == 0 ? "" : "/" + n.Path;
            expected.Add(Line(ModeString(i), $"{i.Uid}/{i.Gid}", size, time, path + (i.Type == FileNodeType.Symlink ? " -> " + i.LinkTarget : "")));
        }
        Assert.Equal(expected, got);
    }

    private static uint Encoded(FileNode n) => (uint)((n.RdevMinor & 0xFF) | (n.RdevMajor << 8) | ((n.RdevMinor & ~0xFF) << 12));

    private static string Line(string perm, string owner, string size, string time, string path) =>
        $"{perm} {owner} {(perm[0] == 'd' ? "dir" : size.Replace(" ", ""))} {time} {path}";

    private static string ModeString(FileNode n) => DiskTools.ModeString(n);

    [Fact]
    public void UnsquashfsExtractsIdenticalContentAndCapabilities()
    {
        DiskTools.Require("unsquashfs", "getcap");
        using var dir = new TempDir();
        var tree = SampleTree();
        new SquashFsBuilder(tree).Build(dir["fs.sqfs"]);
        DiskTools.Run("unsquashfs", ["-q", "-d", dir["out"], dir["fs.sqfs"]]);
        var want = DiskTools.FileDigests(tree);
        var got = DiskTools.FileDigests(dir["out"]);
        Assert.Equal(want, got);
        var cap = DiskTools.Run("getcap", [dir["out"] + "/usr/bin/ping"]).Out;
        Assert.Contains("cap_net_raw", cap);
        Assert.Equal(400_000, new FileInfo(dir["out"] + "/usr/bin/tool").Length);
    }

    [Theory]
    [InlineData(SquashFsCompression.Zstd, 4096)]
    [InlineData(SquashFsCompression.Gzip, 131072)]
    [InlineData(SquashFsCompression.Zstd, 1 << 20)]
    public void CompressorsAndBlockSizesExtract(SquashFsCompression compression, int blockSize)
    {
        DiskTools.Require("unsquashfs");
        using var dir = new TempDir();
        var tree = SampleTree();
        new SquashFsBuilder(tree, new SquashFsOptions { Compression = compression, BlockSize = blockSize }).Build(dir["fs.sqfs"]);
        var stat = DiskTools.Run("unsquashfs", ["-s", dir["fs.sqfs"]]).Out;
        Assert.Contains($"Block size {blockSize}", stat);
        Assert.Contains(compression == SquashFsCompression.Zstd ? "Compression zstd" : "Compression gzip", stat);
        DiskTools.Run("unsquashfs", ["-q", "-d", dir["out"], dir["fs.sqfs"]]);
        Assert.Equal(DiskTools.FileDigests(tree), DiskTools.FileDigests(dir["out"]));
    }
}

[Trait("Category", "External")]
public sealed class SquashFsMetadataExternalTests
{
    [Fact]
    public void UnsquashfsExtractionKeepsOwnersModesLinksDevicesAndTimes()
    {
        DiskTools.Require("unsquashfs");
        if (DiskTools.Run("id", ["-u"]).Out.Trim() != "0") Assert.Skip("needs root: unsquashfs creates devices and sets owners only as root");
        using var dir = new TempDir();
        var tree = SquashFsExternalTestsAccess.Sample();
        new SquashFsBuilder(tree).Build(dir["fs.sqfs"]);
        DiskTools.Run("unsquashfs", ["-q", "-d", dir["out"], dir["fs.sqfs"]]);
        Assert.Equal(DiskTools.TreeListing(tree), DiskTools.HostListing(dir["out"]));
    }

    [Fact]
    public void KernelMountShowsTheSameTreeXattrsAndCapabilities()
    {
        DiskTools.RequireRootAndLoop();
        DiskTools.RequireKernelFileSystem("squashfs");
        DiskTools.Require("getcap", "getfattr");
        using var dir = new TempDir();
        var tree = SquashFsExternalTestsAccess.Sample();
        new SquashFsBuilder(tree).Build(dir["fs.sqfs"]);
        Directory.CreateDirectory(dir["mnt"]);
        using (LoopMount.Mount(dir["fs.sqfs"], dir["mnt"], "squashfs", partitions: false))
        {
            Assert.Equal(DiskTools.TreeListing(tree), DiskTools.HostListing(dir["mnt"]));
            Assert.Equal(DiskTools.FileDigests(tree), DiskTools.FileDigests(dir["mnt"]));
            Assert.Contains("cap_net_raw", DiskTools.Run("getcap", [dir["mnt"] + "/usr/bin/ping"]).Out);
            Assert.Contains("user.dir=\"d\"", DiskTools.Run("getfattr", ["-d", dir["mnt"] + "/etc"]).Out);
        }
    }
}

internal static class SquashFsExternalTestsAccess
{
    public static FileTree Sample() => SquashFsExternalTests.SampleTree();
}
