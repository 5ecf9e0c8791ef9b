// Unit tests of the ISO 9660 writer: refusals of bad input, identifiers, extent splitting, Rock Ridge entries, determinism.
using Appliance.ImageBuilder.Disk.Iso9660;
using Appliance.ImageBuilder.Disk.Tree;
using static Appliance.ImageBuilder.Tests.Disk.Iso9660.IsoTestSupport;

namespace Appliance.ImageBuilder.Tests.Disk.Iso9660;

[Trait("Category", "Unit")]
public sealed class IsoWriterTests
{
    private static FileTree Small()
    {
        var t = new FileTree(Epoch);
        t.AddFile("boot/efiboot.img", FileContent.FromBytes(new byte[4096]));
        t.AddDirectory("isolinux");
        return t;
    }

    private static ArgumentException Refused(FileTree tree, IsoOptions options, string path)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => IsoWriter.Build(tree, options, path));
        Assert.False(File.Exists(path), "nothing is written for refused input");
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!));
        return e;
    }

    [Theory]
    [InlineData("lower", "character 'l' at position 1 is not a d-character")]
    [InlineData("MY-DISK", "character '-' at position 3 is not a d-character")]
    [InlineData("", "must be 1 to 32 characters long (it is 0)")]
    [InlineData("A23456789012345678901234567890123", "must be 1 to 32 characters long (it is 33)")]
    public void BadVolumeIdIsRefused(string id, string message)
    {
        using var dir = new TempDir();
        var e = Refused(Small(), new IsoOptions { VolumeId = id, Durable = false }, dir["x.iso"]);
        Assert.Contains(message, e.Message);
        Assert.Contains($"volume id '{id}'", e.Message);
    }

    [Fact]
    public void MissingBootImageIsRefused()
    {
        using var dir = new TempDir();
        var e = Refused(Small(), new IsoOptions { VolumeId = "X", Durable = false, BootEntries = [new(IsoBootPlatform.X86Bios, "isolinux/isolinux.bin")] }, dir["x.iso"]);
        Assert.Equal("boot entry 1 (X86Bios): /isolinux/isolinux.bin is not in the tree", e.Message);
    }

    [Fact]
    public void DirectoryAsBootImageIsRefused()
    {
        using var dir = new TempDir();
        var e = Refused(Small(), new IsoOptions
        {
            VolumeId = "X", Durable = false,
            BootEntries = [new(IsoBootPlatform.Efi, "boot/efiboot.img"), new(IsoBootPlatform.X86Bios, "isolinux")],
        }, dir["x.iso"]);
        Assert.Equal("boot entry 2 (X86Bios): /isolinux is a Directory, not a regular file", e.Message);
    }

    [Fact]
    public void BootCatalogOverAnExistingFileIsRefused()
    {
        using var dir = new TempDir();
        var e = Refused(Small(), new IsoOptions
        {
            VolumeId = "X", Durable = false, BootCatalogPath = "boot/efiboot.img", BootEntries = [new(IsoBootPlatform.Efi, "boot/efiboot.img")],
        }, dir["x.iso"]);
        Assert.StartsWith("boot catalog path /boot/efiboot.img already exists in the tree", e.Message);
    }

    [Fact]
    public void OversizedMbrBootCodeIsRefused()
    {
        using var dir = new TempDir();
        var e = Refused(Small(), new IsoOptions { VolumeId = "X", Durable = false, Hybrid = new IsoHybrid(new byte[512]) }, dir["x.iso"]);
        Assert.StartsWith("isohybrid MBR boot code is 512 bytes; at most 432", e.Message);
    }

    [Fact]
    public void IdentifiersAreDCharactersUniqueAndShort()
    {
        var a = new IsoName.Allocator();
        Assert.Equal("SAME.TXT;1", Id(a.Allocate("Same.TXT", false)));
        Assert.Equal("SAME1.TXT;1", Id(a.Allocate("same.txt", false)));
        Assert.Equal(".HIDDEN;1", Id(a.Allocate(".hidden", false)));
        Assert.Equal("GR__E__N_C_D_.TXT;1", Id(a.Allocate("grüße-ünïcødé.txt", false)));
        Assert.Equal("SAME_TXT", Id(a.Allocate("same.txt", true)));
        var longName = Id(a.Allocate(new string('n', 251) + ".txt", false));
        Assert.Equal(new string('N', 27) + ".TXT;1", longName);
        Assert.Equal(new string('N', 26) + "1.TXT;1", Id(a.Allocate(new string('n', 252) + ".txt", false)));
        Assert.Equal(31, Id(a.Allocate(new string('d', 100), true)).Length);
    }

    private static string Id(IsoName n) => System.Text.Encoding.ASCII.GetString(n.Bytes);

    [Fact]
    public void FilesOf4GiBAndMoreAreSplitIntoWholeBlockExtents()
    {
        Assert.Equal(1, IsoPlanner.ExtentCount(0));
        Assert.Equal(1, IsoPlanner.ExtentCount(uint.MaxValue));
        Assert.Equal(2, IsoPlanner.ExtentCount((long)uint.MaxValue + 1));
        Assert.Equal(2, IsoPlanner.ExtentCount(2 * IsoLayout.ExtentMax));
        Assert.Equal(3, IsoPlanner.ExtentCount(2 * IsoLayout.ExtentMax + 1));
        Assert.Equal(0, IsoLayout.ExtentMax % IsoLayout.BlockSize);
    }

    [Fact]
    public void SymlinkTargetsSplitIntoComponentsAndEntries()
    {
        var sl = RockRidge.Sl("/a/./../b").Single();
        // SL, length, version 1, flags 0; then ROOT, "a", CURRENT, PARENT, "b".
        Assert.Equal(new byte[] { (byte)'S', (byte)'L', 5 + 2 + 3 + 2 + 2 + 3, 1, 0, 0x08, 0, 0, 1, (byte)'a', 0x02, 0, 0x04, 0, 0, 1, (byte)'b' }, sl);
        var parts = RockRidge.Sl(new string('x', 600)).ToList();
        Assert.True(parts.Count == 3 && parts.All(p => p.Length <= 255));
        Assert.Equal(new byte[] { 1, 1, 0 }, parts.Select(p => p[4]).ToArray()); // entry CONTINUE on all but the last
        Assert.Equal(0x01, parts[0][5]);                                        // the component continues too
        Assert.Equal(600, parts.Sum(p => p.Length - 5 - 2));
        var nm = RockRidge.Nm(new string('y', 255)).ToList();
        Assert.Equal(2, nm.Count);
        Assert.Equal(new byte[] { 1, 0 }, nm.Select(e => e[4]).ToArray());
    }

    [Fact]
    public void SameTreeGivesTheSameBytes()
    {
        using var dir = new TempDir();
        var efi = dir["efi.img"];
        File.WriteAllBytes(efi, Enumerable.Range(0, 1 << 20).Select(i => (byte)(i * 31)).ToArray());
        IsoOptions Options() => new()
        {
            VolumeId = "SAME", SourceDateEpoch = Epoch, Durable = false, Hybrid = new IsoHybrid(new byte[432]),
            BootEntries = [new(IsoBootPlatform.X86Bios, "isolinux/isolinux.bin", BootInfoTable: true), new(IsoBootPlatform.Efi, "boot/efiboot.img")],
        };
        FileTree Tree() { var t = RichTree(); foreach (var n in BootTree(efi).Walk().Where(n => n.Type == FileNodeType.File)) t.AddFile(n.Path, n.Content!); return t; }
        var a = IsoWriter.Build(Tree(), Options(), dir["a.iso"]);
        var b = IsoWriter.Build(Tree(), Options(), dir["b.iso"]);
        Assert.Equal(DiskTools.Sha256(dir["a.iso"]), DiskTools.Sha256(dir["b.iso"]));
        Assert.Equal(a.DiskGuid, b.DiskGuid);
        // A different file content gives different identifiers (they are derived from what was written).
        var t2 = Tree();
        t2.AddFile("etc/hostname", FileContent.FromText("edge-02\n"));
        var c = IsoWriter.Build(t2, Options(), dir["c.iso"]);
        Assert.NotEqual(a.DiskGuid, c.DiskGuid);
    }
}
