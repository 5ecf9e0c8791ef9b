// Our writers write, our readers read back, in memory: SquashFS, FAT32 and cpio.
using Appliance.ImageBuilder.Disk.Cpio;
using Appliance.ImageBuilder.Disk.Fat;
using Appliance.ImageBuilder.Disk.SquashFs;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Tests.Disk;

[Trait("Category", "RoundTrip")]
public sealed class RoundTripTests
{
    [Theory]
    [InlineData(SquashFsCompression.Zstd, 131072)]
    [InlineData(SquashFsCompression.Gzip, 4096)]
    public void SquashFsReadsBackTreeMetadataXattrsAndContent(SquashFsCompression compression, int blockSize)
    {
        var tree = SquashFsExternalTests.SampleTree();
        var ms = new MemoryStream();
        new SquashFsBuilder(tree, new SquashFsOptions { Compression = compression, BlockSize = blockSize }).Build(ms);
        var reader = new SquashFsReader(ms);
        Assert.Equal(blockSize, reader.BlockSize);
        var back = reader.ReadTree();
        Assert.Equal(DiskTools.TreeListing(tree), DiskTools.TreeListing(back));
        Assert.Equal(DiskTools.FileDigests(tree), DiskTools.FileDigests(back));
        Assert.Equal(tree.Find("usr/bin/ping")!.Xattrs["security.capability"], back.Find("usr/bin/ping")!.Xattrs["security.capability"]);
        Assert.Equal("d"u8.ToArray(), back.Find("etc")!.Xattrs["user.dir"]);
    }

    [Fact]
    public void SquashFsStoresDuplicateFilesOnce()
    {
        var payload = new byte[1 << 20];
        new Random(5).NextBytes(payload);
        var one = new FileTree(1);
        one.AddFile("a", payload);
        var two = new FileTree(1);
        two.AddFile("a", payload);
        two.AddFile("b", (byte[])payload.Clone());
        var m1 = new MemoryStream();
        var m2 = new MemoryStream();
        new SquashFsBuilder(one).Build(m1);
        new SquashFsBuilder(two).Build(m2);
        Assert.True(m2.Length - m1.Length < 4096, $"a duplicate 1 MiB file grew the image from {m1.Length} to {m2.Length}");
        Assert.Equal(DiskTools.FileDigests(two), DiskTools.FileDigests(new SquashFsReader(m2).ReadTree()));
    }

    [Fact]
    public void SquashFsRejectsAnUnstorableXattrNamespace()
    {
        var t = new FileTree(1);
        t.AddFile("f", FileContent.FromText("x")).Xattrs["system.posix_acl_access"] = [2, 0, 0, 0];
        var e = Assert.Throws<InvalidDataException>(() => new SquashFsBuilder(t).Build(new MemoryStream()));
        Assert.Contains("/f", e.Message);
    }

    [Fact]
    public void SquashFsReaderNamesABadSuperblock()
    {
        var e = Assert.Throws<InvalidDataException>(() => new SquashFsReader(new MemoryStream(new byte[4096])));
        Assert.Contains("magic", e.Message);
    }

    [Fact]
    public void FatReadsBackNamesTimesAndContent()
    {
        var tree = FatExternalTests.SampleTree();
        var ms = new MemoryStream();
        new FatBuilder(tree, 64L << 20, new FatOptions { VolumeLabel = "boot", VolumeSerial = 0x12345678 }).Build(ms);
        var reader = new FatReader(ms);
        Assert.Equal("BOOT", reader.VolumeLabel);
        Assert.Equal(0x12345678u, reader.VolumeSerial);
        var back = reader.ReadTree();
        Assert.Equal(DiskTools.FileDigests(tree), DiskTools.FileDigests(back));
        Assert.Equal(tree.Walk().Select(n => n.Path), back.Walk().Select(n => n.Path));
        Assert.Equal(0b100_100_100, back.Find("read-only.txt")!.Mode);
        Assert.Equal(1_700_000_000, back.Find("README.TXT")!.MTime);
    }

    [Fact]
    public void FatShortNamesAreUniqueAndStable()
    {
        var t = new FileTree(1);
        for (int i = 0; i < 300; i++) t.AddFile($"Long File Name {i}.text", FileContent.FromText("x"));
        var a = new MemoryStream();
        var b = new MemoryStream();
        new FatBuilder(t, 40L << 20).Build(a);
        new FatBuilder(t, 40L << 20).Build(b);
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.Equal(300, new FatReader(a).ReadTree().Root.ChildCount);
    }

    [Fact]
    public void CpioWritesTrailerAndPadsTo512()
    {
        var t = new FileTree(1);
        t.AddFile("x", FileContent.FromText("1"));
        var ms = new MemoryStream();
        CpioWriter.Write(t, ms);
        Assert.Equal(512, ms.Length);
        ms.Position = 0;
        Assert.Equal("1", new StreamReader(CpioReader.Read(ms).Find("x")!.Content!.OpenRead()).ReadToEnd());
    }
}
