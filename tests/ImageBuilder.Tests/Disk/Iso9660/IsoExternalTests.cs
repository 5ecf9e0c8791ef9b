// Checks our ISO 9660 images with xorriso/osirrox, isoinfo, fdisk/sgdisk and the kernel's iso9660 driver.
using Appliance.ImageBuilder.Disk.Iso9660;
using Appliance.ImageBuilder.Disk.Tree;
using static Appliance.ImageBuilder.Tests.Disk.Iso9660.IsoTestSupport;

namespace Appliance.ImageBuilder.Tests.Disk.Iso9660;

[Trait("Category", "External")]
public sealed class IsoExternalTests
{
    private static IsoOptions Plain => new() { VolumeId = "TEST_VOLUME", SourceDateEpoch = Epoch, Durable = false };

    [Fact]
    public void KernelMountShowsTheTree()
    {
        DiskTools.RequireRootAndLoop();
        DiskTools.RequireKernelFileSystem("iso9660");
        using var dir = new TempDir();
        var tree = RichTree();
        tree.Remove(new string('n', 251) + ".txt"); // Linux reads at most 253 bytes of an NM name (README)
        IsoWriter.Build(tree, Plain, dir["x.iso"]);
        Directory.CreateDirectory(dir["mnt"]);
        using (LoopMount.Mount(dir["x.iso"], dir["mnt"], "iso9660", partitions: false))
        {
            // The kernel takes link counts from PX, so hard links show theirs.
            Assert.Equal(DiskTools.TreeListing(tree), DiskTools.HostListing(dir["mnt"]));
            Assert.Equal(DiskTools.FileDigests(tree), DiskTools.FileDigests(dir["mnt"]));
        }
    }

    [Fact]
    public void OsirroxExtractsTheTree()
    {
        DiskTools.Require("osirrox");
        using var dir = new TempDir();
        var tree = RichTree();
        tree.Remove("dev/big-minor"); // libisofs reads PN as the halves of a glibc dev_t, Linux as major and minor (RockRidge.Pn)
        tree.Remove("run/sock");      // osirrox does not restore sockets
        IsoWriter.Build(tree, Plain, dir["x.iso"]);
        if (Environment.GetEnvironmentVariable("ISO_TEST_KEEP") is { Length: > 0 } keep) File.Copy(dir["x.iso"], keep, true);
        // Devices are extracted only when allowed; the tree is compared whole.
        DiskTools.Run("osirrox", ["-indev", dir["x.iso"], "-osirrox", "on:device_files", "-hardlinks", "on", "-extract", "/", dir["out"]]);
        // osirrox restores hard links from PX serial numbers only in images that libisofs itself marked; the shared
        // extent is checked in IsoinfoListsTheRockRidgeTree.
        Assert.Equal(DiskTools.TreeListing(tree, withLinks: false), DiskTools.HostListing(dir["out"], withLinks: false));
        Assert.Equal(DiskTools.FileDigests(tree), DiskTools.FileDigests(dir["out"]));
    }

    [Fact]
    public void IsoinfoListsTheRockRidgeTree()
    {
        DiskTools.Require("isoinfo");
        using var dir = new TempDir();
        var tree = RichTree();
        var result = IsoWriter.Build(tree, Plain, dir["x.iso"]);
        var info = DiskTools.Run("isoinfo", ["-d", "-i", dir["x.iso"]]).Out;
        Assert.Contains("Volume id: TEST_VOLUME", info);
        Assert.Contains("Rock Ridge signatures version 1 found", info);
        Assert.Contains($"Volume size is: {result.Size / 2048}", info);

        // "Directory listing of /dir/" blocks of "mode links uid gid size date [extent flags] name[ -> target]"; uid and gid in octal.
        var listing = DiskTools.Run("isoinfo", ["-R", "-l", "-i", dir["x.iso"]]).Out;
        var rx = new System.Text.RegularExpressions.Regex(@"^(\S{10})\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+) \w{3} [ \d]\d \d{4} \[\s*(\d+) \d\d\]  (.*?) ?$");
        var got = new List<string>();
        string current = "";
        foreach (var line in listing.Split('\n'))
        {
            if (line.StartsWith("Directory listing of /", StringComparison.Ordinal)) { current = line["Directory listing of /".Length..]; continue; }
            var m = rx.Match(line);
            if (!m.Success || m.Groups[7].Value is "." or "..") continue;
            string name = m.Groups[7].Value;
            string target = "";
            if (m.Groups[1].Value[0] == 'l') { int a = name.IndexOf(" -> ", StringComparison.Ordinal); target = name[(a + 4)..]; name = name[..a]; }
            string size = m.Groups[1].Value[0] is '-' ? m.Groups[5].Value : "";
            got.Add($"{current}{name} {m.Groups[1].Value} n={m.Groups[2].Value} {Convert.ToInt32(m.Groups[3].Value, 8)}:{Convert.ToInt32(m.Groups[4].Value, 8)} s={size} x={(size is "" or "0" ? "" : m.Groups[6].Value)} -> {target}");
        }
        var expected = new List<string>();
        foreach (var n in tree.Walk().Where(n => n.Parent != null))
        {
            var i = n.Inode;
            int links = i.Type == FileNodeType.Directory ? 2 + i.Children.Count(c => c.Type == FileNodeType.Directory) : i.LinkCount;
            string size = i.Type == FileNodeType.File ? i.Size.ToString() : "";
            string extent = i.Type == FileNodeType.File && i.Size > 0 ? result.Extents[n.Path].Lba.ToString() : "";
            expected.Add($"{(n.Parent!.Path.Length == 0 ? "" : n.Parent.Path + "/")}{n.Name} {ModeString(i)} n={links} {i.Uid}:{i.Gid} s={size} x={extent} -> {IsoinfoTarget(i.LinkTarget)}");
        }
        got.Sort(StringComparer.Ordinal);
        expected.Sort(StringComparer.Ordinal);
        Assert.Equal(expected, got);
        Assert.Equal(result.Extents["usr/bin/tool"], result.Extents["usr/bin/tool-alias"]);
    }

    /// <summary>isoinfo drops the empty last SL component that records a trailing '/' (osirrox keeps it).</summary>
    private static string? IsoinfoTarget(string? t) => t is { Length: > 1 } && t.EndsWith('/') ? t[..^1] : t;

    private static string ModeString(FileNode n) => DiskTools.ModeString(n, fifo: 'f', specialBits: false);

    /// <summary>
    /// A sparse 4 GiB + 1 MiB host file: cheap to make and to write (its holes stay holes in the ISO), and it needs two
    /// extents. xorriso lists both, and osirrox reads the bytes across the extent boundary and at the end.
    /// </summary>
    [Fact]
    public void FileOver4GiBTakesSeveralExtents()
    {
        DiskTools.Require("xorriso", "osirrox");
        using var dir = new TempDir();
        long size = (4L << 30) + (1 << 20);
        var marks = new long[] { 0, IsoLayout.ExtentMax - 5000, size - 3000 };
        using (var f = new FileStream(dir["big.bin"], FileMode.CreateNew))
        {
            f.SetLength(size);
            foreach (var at in marks)
            {
                f.Position = at;
                f.Write(Enumerable.Range(0, 3000 + (int)(at % 7)).Select(i => (byte)(i * 7 + at)).Take((int)Math.Min(3000, size - at)).ToArray());
            }
        }
        var tree = new FileTree(Epoch);
        tree.AddFile("big.bin", FileContent.FromHostFile(dir["big.bin"]));
        tree.AddFile("after.txt", FileContent.FromText("after\n"));
        var r = IsoWriter.Build(tree, Plain, dir["x.iso"]);
        Assert.True(new FileInfo(dir["x.iso"]).Length > size);
        if (Environment.GetEnvironmentVariable("ISO_TEST_KEEP") is { Length: > 0 } keep) DiskTools.Run("cp", ["--sparse=always", dir["x.iso"], keep]);
        long allocated = long.Parse(DiskTools.Run("stat", ["-c", "%b", dir["x.iso"]]).Out.Trim()) * 512;
        Assert.True(allocated < 8 << 20, $"the image takes {allocated} bytes on disk; its holes should have stayed holes");

        var report = DiskTools.Run("xorriso", ["-indev", dir["x.iso"], "-find", "/big.bin", "-exec", "report_lba", "--"]).Out;
        long lba = r.Extents["big.bin"].Lba;
        Assert.Matches($@"File data lba:\s+0\s+,\s+{lba}\s+,\s+{IsoLayout.ExtentMax / 2048}\s+,\s+{size}\s+,\s+'/big.bin'", report);
        Assert.Matches($@"File data lba:\s+1\s+,\s+{lba + IsoLayout.ExtentMax / 2048}\s+,\s+{(size - IsoLayout.ExtentMax + 2047) / 2048}\s+,\s+{size}\s+,\s+'/big.bin'", report);

        var listing = DiskTools.Run("osirrox", ["-indev", dir["x.iso"], "-lsl", "/"]).Out;
        Assert.Matches($@"-rw-r--r--\s+1\s+0\s+0\s+{size}\s.*'big.bin'", listing);
        using var src = File.OpenRead(dir["big.bin"]);
        foreach (var at in marks.Append(IsoLayout.ExtentMax - 4096))
        {
            int n = (int)Math.Min(8192, size - at);
            var cut = dir[$"cut-{at}"];
            DiskTools.Run("osirrox", ["-indev", dir["x.iso"], "-extract_cut", "/big.bin", at.ToString(), n.ToString(), cut]);
            var expected = new byte[n];
            src.Position = at;
            src.ReadExactly(expected);
            Assert.Equal(expected, File.ReadAllBytes(cut));
        }
    }
}
