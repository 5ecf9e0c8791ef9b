// Checks our FAT32 volumes with fsck.fat, mtools and the kernel's vfat driver.
using Appliance.ImageBuilder.Disk.Fat;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Tests.Disk;

[Trait("Category", "External")]
public sealed class FatExternalTests
{
    internal static FileTree SampleTree()
    {
        var t = new FileTree(1_700_000_000);
        t.AddFile("EFI/BOOT/BOOTX64.EFI", Bytes(150_000, 1));
        t.AddFile("loader/loader.conf", FileContent.FromText("timeout 0\ndefault a.conf\n"));
        t.AddFile("loader/entries/a.conf", FileContent.FromText("title A\nlinux /vmlinuz\n"));
        t.AddFile("README.TXT", FileContent.FromText("short name only\n"));
        t.AddFile("readme.txt.bak", FileContent.FromText("lossy\n"));
        t.AddFile("Mixed Case Name With Spaces.conf", FileContent.FromText("spaces\n"));
        t.AddFile("grüße-ünïcødé.txt", FileContent.FromText("utf-8\n"));
        t.AddFile(new string('x', 251) + ".bin", FileContent.FromText("255 chars\n"));
        t.AddFile("empty", FileContent.FromBytes([]));
        t.AddDirectory("empty-dir");
        t.AddFile("read-only.txt", FileContent.FromText("ro\n"), 0b100_100_100);
        for (int i = 0; i < 30; i++) t.AddFile($"many/longfilename{i:D3}.txt", FileContent.FromText($"file {i}\n"));
        t.AddFile("big.bin", Bytes(3_000_000, 7));
        return t;
    }

    internal static FileContent Bytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return FileContent.FromBytes(b);
    }

    [Fact]
    public void FsckIsCleanAndMcopyReadsEveryFileBack()
    {
        DiskTools.Require("fsck.fat", "mcopy");
        using var dir = new TempDir();
        var tree = SampleTree();
        new FatBuilder(tree, 64L << 20, new FatOptions { VolumeLabel = "BOOT" }).Build(dir["fat.img"]);
        var fsck = DiskTools.Run("fsck.fat", ["-n", "-v", dir["fat.img"]]);
        Assert.DoesNotContain("Free cluster summary wrong", fsck.Out);
        Assert.Contains("BOOT", DiskTools.Run("fsck.fat", ["-n", "-v", dir["fat.img"]]).Out + DiskTools.Run("mlabel", ["-s", "-i", dir["fat.img"], "::"]).Out);
        Directory.CreateDirectory(dir["out"]);
        DiskTools.Run("mcopy", ["-s", "-n", "-i", dir["fat.img"], "::*", dir["out"]]);
        Assert.Equal(DiskTools.FileDigests(tree), DiskTools.FileDigests(dir["out"]));
        Assert.True(Directory.Exists(dir["out"] + "/empty-dir"));
    }

    [Fact]
    public void KernelMountShowsTheSameTree()
    {
        DiskTools.RequireRootAndLoop();
        DiskTools.RequireKernelFileSystem("vfat");
        using var dir = new TempDir();
        var tree = SampleTree();
        new FatBuilder(tree, 64L << 20, new FatOptions { VolumeLabel = "BOOT" }).Build(dir["fat.img"]);
        Directory.CreateDirectory(dir["mnt"]);
        using (var m = LoopMount.Mount(dir["fat.img"], dir["mnt"], "vfat", partitions: false))
        {
            Assert.Equal(DiskTools.FileDigests(tree), DiskTools.FileDigests(dir["mnt"]));
            var dirs = Directory.EnumerateDirectories(dir["mnt"], "*", SearchOption.AllDirectories).Select(d => Path.GetRelativePath(dir["mnt"], d)).Order(StringComparer.Ordinal);
            var want = tree.Walk().Where(n => n.Type == FileNodeType.Directory && n.Path.Length > 0).Select(n => n.Path).Order(StringComparer.Ordinal);
            Assert.Equal(want, dirs);
            Assert.Equal(FileAttributes.ReadOnly, File.GetAttributes(dir["mnt"] + "/read-only.txt") & FileAttributes.ReadOnly);
        }
    }

    [Fact]
    public void TenThousandFilesInOneDirectory()
    {
        DiskTools.Require("fsck.fat", "mdir");
        using var dir = new TempDir();
        var tree = new FileTree(1_700_000_000);
        var content = FileContent.FromText("x");
        for (int i = 0; i < 10_000; i++) tree.AddFile($"many/file-{i:D5}.txt", content);
        new FatBuilder(tree, 64L << 20).Build(dir["fat.img"]);
        DiskTools.Run("fsck.fat", ["-n", dir["fat.img"]]);
        var list = DiskTools.Run("mdir", ["-b", "-i", dir["fat.img"], "::/many"]).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(10_000, list.Length);
        Assert.Contains("::/many/file-09999.txt", list);
    }

    [Fact]
    public void ClearErrorsForTooBigFileTooSmallVolumeAndIllegalNames()
    {
        var big = new FileTree();
        big.AddFile("huge.img", FileContent.Zeros(4L << 30));
        var e1 = Assert.Throws<InvalidDataException>(() => new FatBuilder(big, 8L << 30).Build(Stream.Null is var _ ? new MemoryStream() : null!));
        Assert.Contains("/huge.img", e1.Message);
        Assert.Contains("4 GiB", e1.Message);

        var e2 = Assert.Throws<InvalidDataException>(() => new FatBuilder(new FileTree(), 16L << 20).Build(new MemoryStream()));
        Assert.Contains("too small", e2.Message);

        var full = new FileTree();
        full.AddFile("a.bin", FileContent.Zeros(40L << 20));
        var e3 = Assert.Throws<InvalidDataException>(() => new FatBuilder(full, 36L << 20).Build(new MemoryStream()));
        Assert.Contains("/a.bin", e3.Message);

        var bad = new FileTree();
        bad.AddFile("what?.txt", FileContent.FromText("x"));
        var e4 = Assert.Throws<InvalidDataException>(() => new FatBuilder(bad, 64L << 20).Build(new MemoryStream()));
        Assert.Contains("/what?.txt", e4.Message);

        var cases = new FileTree();
        cases.AddFile("dir/README", FileContent.FromText("a"));
        cases.AddFile("dir/readme", FileContent.FromText("b"));
        var e5 = Assert.Throws<InvalidDataException>(() => new FatBuilder(cases, 64L << 20).Build(new MemoryStream()));
        Assert.Contains("/dir/readme", e5.Message);

        var link = new FileTree();
        link.AddSymlink("l", "target");
        Assert.Contains("Symlink", Assert.Throws<InvalidDataException>(() => new FatBuilder(link, 64L << 20).Build(new MemoryStream())).Message);
    }
}
