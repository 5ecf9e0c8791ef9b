// Hand-made hostile archives: each is refused with a message naming the archive and the entry, exit 2, store unchanged.
using System.Formats.Tar;
using System.Text;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Tests.Cli;
using static Appliance.ImageBuilder.Tests.Store.TestImages;

namespace Appliance.ImageBuilder.Tests.Store;

public class HostileArchiveTests
{
    /// <summary>Writes <paramref name="archive"/> and adds it to a store that already holds one good image.</summary>
    private static void AssertRejected(byte[] archive, string[] expected, params string[] extraArgs)
    {
        using var t = new TempDir();
        var store = t["store"];
        var good = t["good.tar"];
        File.WriteAllBytes(good, ArchiveTar(Make("example.local/good:1", [SimpleLayer()]).Files()));
        Assert.Equal(0, CliRunner.Run("store", "--store", store, "add", good).ExitCode);
        var before = TreeHash.Of(store);
        var path = t["hostile.tar"];
        File.WriteAllBytes(path, archive);
        var r = CliRunner.Run(null, ["store", "--store", store, "add", .. extraArgs, path]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(path, r.Error);
        foreach (var e in expected)
            Assert.Contains(e, r.Error);
        Assert.DoesNotContain("   at ", r.Error);
        Assert.Single(r.Error.Trim().Split('\n'));
        Assert.Equal(before, TreeHash.Of(store));
    }

    private static byte[] WithLayer(IEnumerable<TarMember> members, LayerCompression c = LayerCompression.None) =>
        ArchiveTar(Make("example.local/hostile:1", [Tar(members)], c).Files());

    [Fact]
    [Trait("Category", "Unit")]
    public void Archive_entry_with_dotdot() =>
        AssertRejected(ArchiveTar([.. Make("example.local/x:1", [SimpleLayer()]).Files(), ("../escape", "x"u8.ToArray())]),
            ["entry '../escape' contains '..'"]);

    [Fact]
    [Trait("Category", "Unit")]
    public void Archive_entry_with_absolute_path() =>
        AssertRejected(ArchiveTar([.. Make("example.local/x:1", [SimpleLayer()]).Files(), ("/etc/cron.d/evil", "x"u8.ToArray())]),
            ["entry '/etc/cron.d/evil' has an absolute path"]);

    [Fact]
    [Trait("Category", "Unit")]
    public void Archive_with_a_symlink_member() =>
        AssertRejected(ArchiveTar(Make("example.local/x:1", [SimpleLayer()]).Files(),
            [new TarMember("blobs/sha256/link", Type: TarEntryType.SymbolicLink, Link: "/etc/shadow")]),
            ["entry 'blobs/sha256/link' is a link to '/etc/shadow'"]);

    [Fact]
    [Trait("Category", "Unit")]
    public void Layer_entry_with_dotdot() =>
        AssertRejected(WithLayer([new TarMember("../../etc/passwd", "root::0:0::/:/bin/sh"u8.ToArray())]),
            ["layer sha256:", "entry '../../etc/passwd' contains '..'"]);

    [Fact]
    [Trait("Category", "Unit")]
    public void Layer_entry_with_absolute_path() =>
        AssertRejected(WithLayer([new TarMember("/etc/passwd", "x"u8.ToArray())]), ["layer sha256:", "entry '/etc/passwd' has an absolute path"]);

    [Fact]
    [Trait("Category", "Unit")]
    public void Layer_symlink_pointing_outside_the_tree() =>
        AssertRejected(WithLayer([new TarMember("etc/", Type: TarEntryType.Directory),
                new TarMember("etc/evil", Type: TarEntryType.SymbolicLink, Link: "../../../../root/.ssh")]),
            ["entry 'etc/evil': symbolic link to '../../../../root/.ssh' points outside the image root"]);

    [Fact]
    [Trait("Category", "Unit")]
    public void Layer_hard_link_pointing_outside_the_tree() =>
        AssertRejected(WithLayer([new TarMember("shadow", Type: TarEntryType.HardLink, Link: "/etc/shadow")]),
            ["entry 'shadow': hard link to '/etc/shadow' points outside the image root"]);

    [Fact]
    [Trait("Category", "Unit")]
    public void Layer_with_a_device_file_in_an_application_image() =>
        AssertRejected(WithLayer([new TarMember("dev/sda", Type: TarEntryType.BlockDevice, Major: 8, Minor: 0)]),
            ["entry 'dev/sda': is a block device (8,0); device files are not allowed in application images"]);

    [Fact]
    [Trait("Category", "Unit")]
    public void Decompression_bomb_passes_the_layer_size_limit() =>
        AssertRejected(WithLayer([new TarMember("zeros", new byte[8 << 20])], LayerCompression.Gzip),
            ["layer sha256:", "unpacks to more than 1048576 bytes"], "--max-layer-size", "1048576");

    [Fact]
    [Trait("Category", "Unit")]
    public void Manifest_references_a_missing_blob()
    {
        var img = Make("example.local/x:1", [SimpleLayer()]);
        var layer = Sha(img.Layers[0]);
        img.Blobs.Remove(layer);
        AssertRejected(ArchiveTar(img.Files()), [$"$.layers[0]: references blob {layer}, but", $"has no entry 'blobs/sha256/{layer[7..]}'"]);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Truncated_archive()
    {
        var full = ArchiveTar(Make("example.local/x:1", [SimpleLayer(new string('x', 20000))]).Files());
        AssertRejected(full[..(full.Length / 2 + 100)], ["truncated"]);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Blob_content_does_not_match_its_digest()
    {
        var img = Make("example.local/x:1", [SimpleLayer("original")]);
        var layer = Sha(img.Layers[0]);
        var forged = Tar([new TarMember("etc/", Type: TarEntryType.Directory), new TarMember("etc/motd", "evilness"u8.ToArray())]);
        Assert.Equal(img.Blobs[layer].Length, forged.Length);
        img.Blobs[layer] = forged;
        AssertRejected(ArchiveTar(img.Files()), [$"entry 'blobs/sha256/{layer[7..]}' does not match its digest"]);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Blob_size_does_not_match_its_descriptor() =>
        AssertRejected(ArchiveTar(Make("example.local/x:1", [SimpleLayer()], sizeDelta: 7).Files()), ["bytes, but", "$.layers[0] says"]);

    [Fact]
    [Trait("Category", "Unit")]
    public void Unknown_layer_media_type() =>
        AssertRejected(ArchiveTar(Make("example.local/x:1", [SimpleLayer()], layerMediaType: "application/x-shellscript").Files()),
            ["$.layers[0]: unknown layer media type 'application/x-shellscript'"]);

    [Fact]
    [Trait("Category", "Unit")]
    public void Malformed_index_json_names_line_and_path()
    {
        var img = Make("example.local/x:1", [SimpleLayer()]);
        img.Index = "{\"schemaVersion\":2,\n\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"sha256:00\",\"size\":\"big\"}]}"u8.ToArray();
        AssertRejected(ArchiveTar(img.Files()), ["index.json:2:", "malformed JSON at $.manifests[0].size"]);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Config_diff_id_does_not_match_the_layer() =>
        AssertRejected(ArchiveTar(Make("example.local/x:1", [SimpleLayer()], diffIdOverride: "sha256:" + new string('a', 64)).Files()),
            ["the uncompressed tar hashes to", "but the config's diff_id is sha256:aaaa"]);

    [Fact]
    [Trait("Category", "Unit")]
    public void Unsupported_digest_algorithm()
    {
        var img = Make("example.local/x:1", [SimpleLayer()]);
        img.Index = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(img.Index).Replace("\"digest\":\"sha256:", "\"digest\":\"sha512:"));
        AssertRejected(ArchiveTar(img.Files()), ["index.json $.manifests[0]: digest 'sha512:", "unsupported algorithm"]);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Duplicate_archive_entries() =>
        AssertRejected(ArchiveTar([.. Make("example.local/x:1", [SimpleLayer()]).Files(), ("index.json", "{}"u8.ToArray())]),
            ["entry 'index.json' appears more than once"]);

    [Fact]
    [Trait("Category", "Unit")]
    public void Docker_archive_layer_path_escaping() =>
        AssertRejected(ArchiveTar([("manifest.json", "[{\"Config\":\"c.json\",\"RepoTags\":[\"x:1\"],\"Layers\":[\"../../layer.tar\"]}]"u8.ToArray()),
                ("c.json", "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"]}}"u8.ToArray())]),
            ["manifest.json $[0].Layers[0]: entry '../../layer.tar' contains '..'"]);

    [Fact]
    [Trait("Category", "Unit")]
    public void Device_files_are_accepted_for_an_os_image_with_allow_devices()
    {
        using var t = new TempDir();
        var path = t["os.tar"];
        File.WriteAllBytes(path, WithLayer([new TarMember("dev/", Type: TarEntryType.Directory),
            new TarMember("dev/console", Type: TarEntryType.CharacterDevice, Major: 5, Minor: 1)]));
        var r = CliRunner.Run("store", "--store", t["s"], "add", "--allow-devices", path);
        Assert.True(r.ExitCode == 0, r.Error);
    }
}
