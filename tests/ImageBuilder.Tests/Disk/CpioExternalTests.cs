// Checks our cpio newc archives with GNU cpio (-t and -i) and our own reader.
using Appliance.ImageBuilder.Disk.Cpio;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Tests.Disk;

[Trait("Category", "External")]
public sealed class CpioExternalTests
{
    private static FileTree Sample()
    {
        var t = SquashFsExternalTests.SampleTree();
        foreach (var n in t.Walk()) n.Xattrs.Clear(); // newc has no xattrs
        t.AddFile("init", FileContent.FromText("#!/bin/sh\nexec /bin/sh\n"), 0b111_101_101);
        return t;
    }

    [Fact]
    public void GnuCpioListsEveryEntry()
    {
        DiskTools.Require("cpio");
        var tree = Sample();
        var ms = new MemoryStream();
        CpioWriter.Write(tree, ms);
        Assert.Equal(0, ms.Length % 512);
        var r = DiskTools.Run("cpio", ["-t", "--quiet"], stdinBytes: ms.ToArray());
        var listed = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal);
        var want = tree.Walk().Where(n => n.Parent != null).Select(n => n.Path).Order(StringComparer.Ordinal);
        Assert.Equal(want, listed);
    }

    [Fact]
    public void GnuCpioExtractsIdenticalTree()
    {
        DiskTools.Require("cpio");
        if (DiskTools.Run("id", ["-u"]).Out.Trim() != "0") Assert.Skip("needs root: cpio -i creates devices and sets owners only as root");
        using var dir = new TempDir();
        var tree = Sample();
        var ms = new MemoryStream();
        CpioWriter.Write(tree, ms);
        Directory.CreateDirectory(dir["out"]);
        DiskTools.Run("cpio", ["-i", "-d", "-m", "--quiet", "--no-absolute-filenames"], stdinBytes: ms.ToArray(), cwd: dir["out"]);
        // GNU cpio sets directory times before filling them, so directory mtimes are not compared.
        var want = DiskTools.TreeListing(tree).Select(DropDirTime).ToList();
        var got = DiskTools.HostListing(dir["out"]).Select(DropDirTime).ToList();
        Assert.Equal(want, got);
        Assert.Equal(DiskTools.FileDigests(tree), DiskTools.FileDigests(dir["out"]));
    }

    private static string DropDirTime(string line)
    {
        var parts = line.Split(' ');
        return parts[1] == "d" ? System.Text.RegularExpressions.Regex.Replace(line, @" t=\d+ ", " t= ") : line;
    }

    [Fact]
    public void OurReaderReadsOurArchiveBack()
    {
        var tree = Sample();
        var ms = new MemoryStream();
        CpioWriter.Write(tree, ms);
        ms.Position = 0;
        var back = CpioReader.Read(ms);
        Assert.Equal(DiskTools.TreeListing(tree), DiskTools.TreeListing(back));
        Assert.Equal(DiskTools.FileDigests(tree), DiskTools.FileDigests(back));
    }

    [Fact]
    public void HardLinksCarryDataOnceOnTheLastName()
    {
        var t = new FileTree(1);
        t.AddFile("a", FileContent.FromText("data"));
        t.AddHardLink("b", "a");
        var ms = new MemoryStream();
        CpioWriter.Write(t, ms);
        var text = System.Text.Encoding.ASCII.GetString(ms.ToArray());
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(text, "data"));
        Assert.True(text.IndexOf("data", StringComparison.Ordinal) > text.IndexOf("b\0", StringComparison.Ordinal));
        Assert.Contains("TRAILER!!!", text);
    }
}
