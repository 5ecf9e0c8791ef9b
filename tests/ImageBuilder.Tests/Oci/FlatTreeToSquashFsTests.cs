// A flattened image handed to the Disk writers: FileTree adapter, then SquashFS checked by unsquashfs.
using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Appliance.ImageBuilder.Disk.SquashFs;
using Appliance.ImageBuilder.Disk.Tree;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Oci.Flatten;
using Appliance.ImageBuilder.Store;
using Appliance.ImageBuilder.Tests.Cli;
using Appliance.ImageBuilder.Tests.Store;
using static Appliance.ImageBuilder.Tests.Store.TestImages;

namespace Appliance.ImageBuilder.Tests.Oci;

public class FlatTreeToSquashFsTests
{
    [Fact]
    [Trait("Category", "Unit")]
    public void Adapter_keeps_metadata_hard_links_and_contents()
    {
        using var t = new TempDir();
        var layer = t["l0"];
        File.WriteAllBytes(layer, Tar([
            new TarMember("bin/busybox", Encoding.UTF8.GetBytes("BB"), Mode: 0b100_111_101_101, Pax: new() { ["SCHILY.xattr.user.x"] = "y" }),
            new TarMember("bin/sh", Type: TarEntryType.HardLink, Link: "bin/busybox"),
            new TarMember("dev/null", Type: TarEntryType.CharacterDevice, Major: 1, Minor: 3),
            new TarMember("lib", Type: TarEntryType.SymbolicLink, Link: "usr/lib"),
        ]));
        using var flat = LayerFlattener.Flatten([new FlattenLayer(layer, LayerCompression.None, "l0")], t.Path);
        var tree = flat.ToFileTree(sourceDateEpoch: 1600000000);
        var bb = tree.Find("bin/busybox")!;
        Assert.Equal((FileNodeType.File, 0b100_111_101_101, 2, 1600000000L), (bb.Type, bb.Mode, bb.LinkCount, bb.MTime));
        Assert.Equal("y", Encoding.UTF8.GetString(bb.Xattrs["user.x"]));
        Assert.Equal(FileNodeType.HardLink, tree.Find("bin/sh")!.Type);
        Assert.Same(bb, tree.Find("bin/sh")!.HardLinkTarget);
        Assert.Equal((1, 3), (tree.Find("dev/null")!.RdevMajor, tree.Find("dev/null")!.RdevMinor));
        Assert.Equal("usr/lib", tree.Find("lib")!.LinkTarget);
        using var s = bb.Content!.OpenRead();
        Assert.Equal("BB", new StreamReader(s).ReadToEnd());
    }

    [Fact]
    [Trait("Category", "External")]
    public async Task Flattened_fixture_written_as_squashfs_extracts_with_unsquashfs()
    {
        if (!File.Exists("/usr/bin/unsquashfs"))
            Assert.Skip("unsquashfs is not installed (apt-get install squashfs-tools)");
        using var t = new TempDir();
        var store = t["store"];
        Assert.Equal(0, CliRunner.Run("store", "--store", store, "add", ImageFixtures.File("busybox-gzip.oci.tar")).ExitCode);
        var s = ContentStore.Open(store);
        var img = s.Resolve("example.local/fixtures/busybox-gzip:1.35", Platform.LinuxAmd64);
        using var flat = s.Flatten(img, t.Path);
        var squash = t["root.squashfs"];
        new SquashFsBuilder(flat.ToFileTree(1700000000)).Build(squash);
        var r = await ProcessRunner.RunAsync("unsquashfs", ["-no-xattrs", "-d", t["out"], squash], ct: TestContext.Current.CancellationToken);
        Assert.True(r.ExitCode == 0, r.Error);
        string expected;
        using (var c = flat.Find("bin/busybox")!.Content!.Open())
            expected = Convert.ToHexStringLower(SHA256.HashData(c));
        Assert.Equal(expected, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(t["out/bin/busybox"]))));
        Assert.Equal("busybox", new FileInfo(t["out/bin/sh"]).LinkTarget);
        Assert.Equal("APPLIANCE-FIXTURE-OK\n", File.ReadAllText(t["out/etc/appliance-fixture"]));
    }
}
