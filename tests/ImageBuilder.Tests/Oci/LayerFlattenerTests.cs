// Layer flattening: whiteouts, opaque directories, hard links, symlinked parents, devices, modes, owners, xattrs.
using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Appliance.ImageBuilder.Boards;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Oci.Flatten;
using Appliance.ImageBuilder.Store;
using Appliance.ImageBuilder.Tests.Cli;
using Appliance.ImageBuilder.Tests.Store;
using static Appliance.ImageBuilder.Tests.Store.TestImages;

namespace Appliance.ImageBuilder.Tests.Oci;

public class LayerFlattenerTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static FlatTree Flatten(TempDir t, params (byte[] Raw, LayerCompression C)[] layers)
    {
        var list = new List<FlattenLayer>();
        for (int i = 0; i < layers.Length; i++)
        {
            var path = t[$"layer{i}"];
            File.WriteAllBytes(path, layers[i].C == LayerCompression.Gzip ? Gzip(layers[i].Raw) : layers[i].Raw);
            list.Add(new FlattenLayer(path, layers[i].C, $"layer{i}"));
        }
        return LayerFlattener.Flatten(list, t.Path);
    }

    private static string Read(FsNode n)
    {
        using var s = n.Content!.Open();
        return new StreamReader(s).ReadToEnd();
    }

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void Layers_apply_in_order_with_whiteouts_opaque_dirs_and_links()
    {
        using var t = new TempDir();
        var cap = new byte[] { 0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xff, 0xfe };
        var lower = Tar([
            new TarMember("bin/", Type: TarEntryType.Directory),
            new TarMember("bin/busybox", B("BUSYBOX"), Mode: 0b100_111_101_101, Pax: new() { ["SCHILY.xattr.user.note"] = "hello", ["LIBARCHIVE.xattr.security.capability"] = Convert.ToBase64String(cap) }),
            new TarMember("bin/sh", Type: TarEntryType.HardLink, Link: "bin/busybox"),
            new TarMember("etc/", Type: TarEntryType.Directory),
            new TarMember("etc/a", B("a1")),
            new TarMember("etc/b", B("b1")),
            new TarMember("opt/", Type: TarEntryType.Directory),
            new TarMember("opt/x", B("x")),
            new TarMember("opt/y/", Type: TarEntryType.Directory),
            new TarMember("opt/y/deep", B("deep")),
            new TarMember("usr/lib/", Type: TarEntryType.Directory),
            new TarMember("lib", Type: TarEntryType.SymbolicLink, Link: "usr/lib"),
            new TarMember("dev/", Type: TarEntryType.Directory),
            new TarMember("dev/console", Type: TarEntryType.CharacterDevice, Major: 5, Minor: 1, Mode: 0b110_000_000),
            new TarMember("run/fifo", Type: TarEntryType.Fifo),
        ]);
        var upper = Tar([
            new TarMember("etc/.wh.a"),
            new TarMember("etc/b", B("b2 from the upper layer")),
            new TarMember("opt/.wh..wh..opq"),
            new TarMember("opt/z", B("z")),
            new TarMember("lib/libnew.so", B("elf")),
        ]);
        using var tree = Flatten(t, (lower, LayerCompression.None), (upper, LayerCompression.Gzip));

        Assert.Null(tree.Find("etc/a"));
        Assert.Equal("b2 from the upper layer", Read(tree.Find("etc/b")!));
        Assert.Equal(["z"], tree.Find("opt")!.Children!.Keys);
        Assert.Equal("elf", Read(tree.Find("usr/lib/libnew.so")!));
        Assert.Equal(FsNodeKind.Symlink, tree.Find("lib")!.Kind);
        var busybox = tree.Find("bin/busybox")!;
        Assert.Same(busybox, tree.Find("bin/sh"));
        Assert.Equal(0b100_111_101_101, busybox.Mode); // setuid kept
        Assert.Equal("hello", Encoding.UTF8.GetString(busybox.Xattrs["user.note"]));
        Assert.Equal(cap, busybox.Xattrs["security.capability"]);
        Assert.Equal("BUSYBOX", Read(busybox));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000), busybox.ModificationTime);
        var console = tree.Find("dev/console")!;
        Assert.Equal((FsNodeKind.CharDevice, 5, 1, 0b110_000_000), (console.Kind, console.DeviceMajor, console.DeviceMinor, console.Mode));
        Assert.Equal(FsNodeKind.Fifo, tree.Find("run/fifo")!.Kind);
        // Plain-layer contents point into the blob; compressed-layer contents into the spool.
        Assert.Equal(t["layer0"], busybox.Content!.Path);
        Assert.Equal(tree.SpoolPath, tree.Find("etc/b")!.Content!.Path);
        Assert.Equal(["bin", "dev", "etc", "lib", "opt", "run", "usr"], tree.Root.Children!.Keys);
        Assert.Equal(["", "bin", "bin/busybox", "bin/sh"], tree.Walk().Take(4).Select(w => w.Path));
    }

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void A_whiteout_of_a_directory_removes_its_whole_subtree_and_a_file_can_replace_a_directory()
    {
        using var t = new TempDir();
        using var tree = Flatten(t,
            (Tar([new TarMember("a/b/c", B("c")), new TarMember("d/e", B("e"))]), LayerCompression.None),
            (Tar([new TarMember(".wh.a"), new TarMember("d", B("now a file"))]), LayerCompression.None));
        Assert.Null(tree.Find("a"));
        Assert.Equal(FsNodeKind.File, tree.Find("d")!.Kind);
    }

    [Fact]
    [Trait("Category", "External")]
    public void Flattened_fixture_busybox_matches_what_gnu_tar_extracts()
    {
        using var t = new TempDir();
        var store = t["store"];
        Assert.Equal(0, CliRunner.Run("store", "--store", store, "add", ImageFixtures.File("busybox-multi.oci.tar")).ExitCode);
        var s = ContentStore.Open(store);
        foreach (var board in new[] { "x86_64-uefi", "arm64-rpi", "armv7-rpi" })
        {
            var img = s.Resolve("example.local/fixtures/busybox-multi:1.35", Board.Get(board).Platform);
            using var tree = s.Flatten(img, t.Path);
            var node = tree.Find("bin/busybox")!;
            Assert.Equal(0b111_101_101, node.Mode);
            Assert.Equal("busybox", tree.Find("bin/sh")!.LinkTarget);
            Assert.Equal(0b1_111_111_111, tree.Find("tmp")!.Mode);
            string ours;
            using (var c = node.Content!.Open())
                ours = Convert.ToHexStringLower(SHA256.HashData(c));
            var layer = s.BlobPath(img.Layers[0].ParsedDigest("layer"));
            var decompress = MediaTypes.LayerCompressionOf(img.Layers[0].MediaType) switch
            {
                LayerCompression.Gzip => "gzip -dc",
                LayerCompression.Zstd => "zstd -dc",
                _ => "cat",
            };
            var r = ProcessRunner.Run("bash", ["-c", $"{decompress} '{layer}' | tar -xO bin/busybox | sha256sum"]);
            var theirs = r.Out.Split(' ')[0];
            Assert.Equal(0, r.ExitCode);
            Assert.Equal(theirs, ours);
        }
    }
}
