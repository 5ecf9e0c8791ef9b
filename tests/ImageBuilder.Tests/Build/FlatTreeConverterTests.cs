// The build's FlatTree -> FileTree converter: metadata, root, hard links and refusals; then SquashFS checked by unsquashfs.
using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Appliance.ImageBuilder.Build;
using Appliance.ImageBuilder.Disk.SquashFs;
using Appliance.ImageBuilder.Disk.Tree;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Oci.Flatten;
using Appliance.ImageBuilder.Store;
using Appliance.ImageBuilder.Tests.Cli;
using Appliance.ImageBuilder.Tests.Store;
using static Appliance.ImageBuilder.Tests.Store.TestImages;

namespace Appliance.ImageBuilder.Tests.Build;

public class FlatTreeConverterTests
{
    [Fact]
    [Trait("Category", "Unit")]
    public void Converter_keeps_metadata_hard_links_and_contents()
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
        var tree = FlatTreeConverter.Convert(flat, 1600000000);
        tree.ClampTimestamps(1600000000);
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
    [Trait("Category", "Unit")]
    public void Root_keeps_its_mode_owner_mtime_and_xattrs()
    {
        var root = FsNode.NewDirectory();
        root.Mode = 0b111_101_000;
        root.Uid = 1000;
        root.Gid = 100;
        root.ModificationTime = DateTimeOffset.FromUnixTimeSeconds(1500000000);
        root.Xattrs["user.root"] = [1, 2];
        using var flat = new FlatTree(root, null);
        var tree = FlatTreeConverter.Convert(flat, 1600000000);
        Assert.Equal((0b111_101_000, 1000, 100, 1500000000L), (tree.Root.Mode, tree.Root.Uid, tree.Root.Gid, tree.Root.MTime));
        Assert.Equal([1, 2], tree.Root.Xattrs["user.root"]);
        Assert.Equal(1600000000L, tree.DefaultMTime);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void The_first_name_in_walk_order_is_the_file_and_later_names_are_links()
    {
        var root = FsNode.NewDirectory();
        var file = new FsNode(FsNodeKind.File) { Mode = 0b111_101_101 };
        root.Children!["z"] = file;
        root.Children["a"] = file;
        var etc = FsNode.NewDirectory();
        etc.Children!["m"] = file;
        root.Children["etc"] = etc;
        using var flat = new FlatTree(root, null);
        var tree = FlatTreeConverter.Convert(flat, 0);
        var a = tree.Find("a")!;
        Assert.Equal((FileNodeType.File, 3), (a.Type, a.LinkCount));
        Assert.Same(a, tree.Find("etc/m")!.HardLinkTarget);
        Assert.Same(a, tree.Find("z")!.HardLinkTarget);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Unknown_kinds_and_symlinks_without_target_are_refused_with_their_path()
    {
        var root = FsNode.NewDirectory();
        root.Children!["odd"] = new FsNode((FsNodeKind)42);
        using (var flat = new FlatTree(root, null))
            Assert.Equal("/odd: unsupported file kind 42", Assert.Throws<InvalidDataException>(() => FlatTreeConverter.Convert(flat, 0)).Message);
        root.Children.Clear();
        root.Children["lib"] = new FsNode(FsNodeKind.Symlink);
        using (var flat = new FlatTree(root, null))
            Assert.Equal("/lib: symlink without a target", Assert.Throws<InvalidDataException>(() => FlatTreeConverter.Convert(flat, 0)).Message);
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
        new SquashFsBuilder(FlatTreeConverter.Convert(flat, 1700000000)).Build(squash);
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
