// The corner cases of issue 3, each checked through the real tools: empty entries, long and UTF-8 names, 10,000 files, depth 64, sparse 2 GiB.
using Appliance.ImageBuilder.Disk.Cpio;
using Appliance.ImageBuilder.Disk.Fat;
using Appliance.ImageBuilder.Disk.SquashFs;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Tests.Disk;

[Trait("Category", "External")]
public sealed class CornerCaseTests
{
    private static void CheckSquashFs(FileTree tree, TempDir dir)
    {
        DiskTools.Require("unsquashfs");
        new SquashFsBuilder(tree).Build(dir["fs.sqfs"]);
        DiskTools.Run("unsquashfs", ["-q", "-d", dir["sq"], dir["fs.sqfs"]]);
        Assert.Equal(DiskTools.TreeListing(tree, withMTime: false), DiskTools.HostListing(dir["sq"], withMTime: false));
        Assert.Equal(DiskTools.FileDigests(tree), DiskTools.FileDigests(dir["sq"]));
    }

    private static void CheckFat(FileTree tree, TempDir dir)
    {
        DiskTools.Require("fsck.fat", "mcopy");
        new FatBuilder(tree, 64L << 20).Build(dir["fat.img"]);
        DiskTools.Run("fsck.fat", ["-n", dir["fat.img"]]);
        Directory.CreateDirectory(dir["fat"]);
        if (tree.Root.ChildCount > 0) DiskTools.Run("mcopy", ["-s", "-n", "-i", dir["fat.img"], "::*", dir["fat"]]);
        Assert.Equal(DiskTools.FileDigests(tree), DiskTools.FileDigests(dir["fat"]));
        var dirs = Directory.EnumerateDirectories(dir["fat"], "*", SearchOption.AllDirectories).Select(d => Path.GetRelativePath(dir["fat"], d)).Order(StringComparer.Ordinal);
        Assert.Equal(tree.Walk().Where(n => n.Type == FileNodeType.Directory && n.Parent != null).Select(n => n.Path).Order(StringComparer.Ordinal), dirs);
    }

    private static void CheckCpio(FileTree tree, TempDir dir)
    {
        DiskTools.Require("cpio");
        var ms = new MemoryStream();
        CpioWriter.Write(tree, ms);
        Directory.CreateDirectory(dir["cpio"]);
        DiskTools.Run("cpio", ["-i", "-d", "--quiet", "--no-absolute-filenames"], stdinBytes: ms.ToArray(), cwd: dir["cpio"]);
        Assert.Equal(DiskTools.FileDigests(tree), DiskTools.FileDigests(dir["cpio"]));
        ms.Position = 0;
        Assert.Equal(DiskTools.TreeListing(tree), DiskTools.TreeListing(CpioReader.Read(ms)));
    }

    private static void CheckAll(FileTree tree)
    {
        using (var d = new TempDir()) CheckSquashFs(tree, d);
        using (var d = new TempDir()) CheckFat(tree, d);
        using (var d = new TempDir()) CheckCpio(tree, d);
    }

    [Fact]
    public void EmptyFilesAndDirectories()
    {
        var t = new FileTree(1_700_000_000);
        t.AddFile("empty.txt", FileContent.FromBytes([]));
        t.AddDirectory("empty-dir");
        t.AddDirectory("a/b/empty-nested");
        t.AddFile("a/zero", FileContent.FromBytes([]));
        CheckAll(t);
        CheckAll(new FileTree(1_700_000_000));
    }

    [Fact]
    public void NamesOf255Bytes()
    {
        var t = new FileTree(1_700_000_000);
        t.AddFile(new string('a', 255), FileContent.FromText("ascii 255\n"));
        t.AddDirectory(new string('d', 255));
        t.AddFile(new string('d', 255) + "/" + new string('b', 251) + ".txt", FileContent.FromText("nested\n"));
        CheckAll(t);
        // 255 bytes of UTF-8 (85 three-byte characters) in SquashFS and cpio.
        var u = new FileTree(1_700_000_000);
        u.AddFile(new string('語', 85), FileContent.FromText("utf-8 255 bytes\n"));
        using (var d = new TempDir()) CheckSquashFs(u, d);
        using (var d = new TempDir()) CheckCpio(u, d);
        Assert.Throws<ArgumentException>(() => u.AddFile(new string('a', 256), FileContent.FromBytes([])));
    }

    [Fact]
    public void Utf8Names()
    {
        var t = new FileTree(1_700_000_000);
        t.AddFile("grüße.txt", FileContent.FromText("de\n"));
        t.AddFile("日本語/ファイル.conf", FileContent.FromText("ja\n"));
        t.AddFile("Ünïcødé Spaces.md", FileContent.FromText("mixed\n"));
        CheckAll(t);
        // Characters outside the BMP are stored as UTF-16 surrogate pairs in FAT long names. mtools turns each
        // surrogate into '_', so FAT is checked by fsck.fat and our reader; SquashFS and cpio by the real tools.
        var astral = new FileTree(1_700_000_000);
        astral.AddFile("emoji-🚀.bin", FileContent.FromText("astral plane\n"));
        using (var d = new TempDir()) CheckSquashFs(astral, d);
        using (var d = new TempDir()) CheckCpio(astral, d);
        using (var d = new TempDir())
        {
            new FatBuilder(astral, 64L << 20).Build(d["fat.img"]);
            DiskTools.Run("fsck.fat", ["-n", d["fat.img"]]);
            using var s = File.OpenRead(d["fat.img"]);
            Assert.Equal(DiskTools.FileDigests(astral), DiskTools.FileDigests(new FatReader(s).ReadTree()));
        }
    }

    [Fact]
    public void TenThousandFilesInOneDirectory()
    {
        var t = new FileTree(1_700_000_000);
        for (int i = 0; i < 10_000; i++) t.AddFile($"big-dir/entry-{i:D5}.dat", FileContent.FromText(i.ToString()));
        using (var d = new TempDir()) CheckSquashFs(t, d);
        using (var d = new TempDir()) CheckCpio(t, d);
        using (var d = new TempDir())
        {
            // The kernel looks names up in the large (extended) directory inode.
            DiskTools.RequireRootAndLoop();
            DiskTools.RequireKernelFileSystem("squashfs");
            new SquashFsBuilder(t).Build(d["fs.sqfs"]);
            Directory.CreateDirectory(d["mnt"]);
            using (LoopMount.Mount(d["fs.sqfs"], d["mnt"], "squashfs", partitions: false))
            {
                Assert.Equal(10_000, Directory.GetFiles(d["mnt"] + "/big-dir").Length);
                Assert.Equal("9999", File.ReadAllText(d["mnt"] + "/big-dir/entry-09999.dat"));
                Assert.Equal("0", File.ReadAllText(d["mnt"] + "/big-dir/entry-00000.dat"));
            }
        }
    }

    [Fact]
    public void TreeSixtyFourLevelsDeep()
    {
        var t = new FileTree(1_700_000_000);
        var path = string.Join('/', Enumerable.Range(1, 64).Select(i => $"level{i:D2}"));
        t.AddFile(path + "/leaf.txt", FileContent.FromText("deep\n"));
        t.AddSymlink(path + "/up", string.Join('/', Enumerable.Repeat("..", 64)));
        using (var d = new TempDir()) CheckSquashFs(t, d);
        using (var d = new TempDir()) CheckCpio(t, d);
        t.Remove(path + "/up"); // FAT has no symlinks
        using (var d = new TempDir()) CheckFat(t, d);
    }

    [Fact]
    public void SparseTwoGiBFileInSquashFs()
    {
        DiskTools.Require("unsquashfs", "truncate", "du");
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["src"]);
        string big = dir["src/sparse.img"];
        DiskTools.Run("truncate", ["-s", "2G", big]);
        using (var f = new FileStream(big, FileMode.Open, FileAccess.Write))
        {
            foreach (long at in new[] { 0L, 1L << 30, (2L << 30) - 5000 })
            {
                f.Position = at;
                f.Write(System.Text.Encoding.ASCII.GetBytes($"data at {at}\n"));
            }
        }
        var tree = FileTree.FromDirectory(dir["src"]);
        new SquashFsBuilder(tree).Build(dir["fs.sqfs"]);
        Assert.True(new FileInfo(dir["fs.sqfs"]).Length < 64 * 1024, $"image is {new FileInfo(dir["fs.sqfs"]).Length} bytes; zero blocks must be stored as nothing");
        using (var s = File.OpenRead(dir["fs.sqfs"]))
        {
            var back = new SquashFsReader(s).ReadTree();
            var node = back.Find("sparse.img")!;
            Assert.Equal(2L << 30, node.Size);
            Assert.Equal(16384 - 3, SquashFsReader.SparseBlockCount(node.Content!));
        }
        DiskTools.Run("unsquashfs", ["-q", "-d", dir["out"], dir["fs.sqfs"]]);
        Assert.Equal(2L << 30, new FileInfo(dir["out/sparse.img"]).Length);
        Assert.Equal(DiskTools.Sha256(big), DiskTools.Sha256(dir["out/sparse.img"]));
    }
}
