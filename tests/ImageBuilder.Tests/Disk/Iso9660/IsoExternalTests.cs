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
        IsoWriter.Build(tree, Plain, dir["x.iso"]);
        Directory.CreateDirectory(dir["mnt"]);
        using (LoopMount.Mount(dir["x.iso"], dir["mnt"], "iso9660", partitions: false))
        {
            // Rock Ridge has no inode numbers the kernel uses, but PX carries the link count; so does the listing.
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

    /// <summary>isoinfo's mode string: as ls -l, but fifos are 'f' and setuid, setgid and sticky are not shown.</summary>
    private static string ModeString(FileNode n)
    {
        char t = n.Type switch
        {
            FileNodeType.Directory => 'd', FileNodeType.Symlink => 'l', FileNodeType.CharDevice => 'c',
            FileNodeType.BlockDevice => 'b', FileNodeType.Fifo => 'f', FileNodeType.Socket => 's', _ => '-',
        };
        int m = n.Mode;
        var s = new char[10];
        s[0] = t;
        const string rwx = "rwxrwxrwx";
        for (int i = 0; i < 9; i++) s[1 + i] = (m & (1 << (8 - i))) != 0 ? rwx[i] : '-';
        return new string(s);
    }
}
