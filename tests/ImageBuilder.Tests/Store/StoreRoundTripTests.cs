// Round trips through the store with the busybox fixtures: three input forms, export/add, platforms, rm/gc/verify.
using System.Text.Json;
using Appliance.ImageBuilder.Boards;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Store;
using Appliance.ImageBuilder.Tests.Cli;

namespace Appliance.ImageBuilder.Tests.Store;

public class StoreRoundTripTests
{
    private const string Single = "example.local/fixtures/busybox:1.35";
    private const string Multi = "example.local/fixtures/busybox-multi:1.35";

    private static CliResult Run(string store, params string[] args) => CliRunner.Run(null, ["store", "--store", store, .. args]);

    private static string ManifestDigest(string store, string name) =>
        StoreIndex.Find(ContentStore.Open(store).ReadIndex(), ImageReference.Parse(name)).Single().Digest;

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void Oci_archive_docker_archive_and_layout_give_the_same_manifest_digest()
    {
        using var t = new TempDir();
        var digests = new List<string>();
        foreach (var input in new[] { "busybox.oci.tar", "busybox.docker.tar", "busybox" })
        {
            var store = t[input];
            var r = Run(store, "add", ImageFixtures.File(input));
            Assert.True(r.ExitCode == 0, r.Error);
            digests.Add(ManifestDigest(store, Single));
            Assert.Empty(ContentStore.Open(store).Verify());
        }
        Assert.Single(digests.Distinct());
        // Byte-identical stores, whichever form the image came in.
        Assert.Equal(TreeHash.Of(Path.Combine(t["busybox.oci.tar"], "blobs")), TreeHash.Of(Path.Combine(t["busybox.docker.tar"], "blobs")));
    }

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void Export_then_add_into_a_fresh_store_is_lossless()
    {
        using var t = new TempDir();
        var a = t["a"];
        Assert.Equal(0, Run(a, "add", ImageFixtures.File("busybox-multi.oci.tar"), ImageFixtures.File("busybox.docker.tar")).ExitCode);
        var r = Run(a, "export", Multi, Single, "-o", t["out.tar"]);
        Assert.True(r.ExitCode == 0, r.Error);
        var b = t["b"];
        Assert.Equal(0, Run(b, "add", t["out.tar"]).ExitCode);
        Assert.Equal(TreeHash.Of(Path.Combine(a, "blobs")), TreeHash.Of(Path.Combine(b, "blobs")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "index.json")), File.ReadAllBytes(Path.Combine(b, "index.json")));
        // Deterministic: the same export twice gives the same bytes.
        Assert.Equal(0, Run(a, "export", Multi, Single, "-o", t["out2.tar"]).ExitCode);
        Assert.Equal(File.ReadAllBytes(t["out.tar"]), File.ReadAllBytes(t["out2.tar"]));
    }

    [Theory]
    [Trait("Category", "RoundTrip")]
    [InlineData("x86_64-uefi", "amd64", null)]
    [InlineData("arm64-rpi", "arm64", null)]
    [InlineData("armv7-virt", "arm", "v7")]
    public void Multi_arch_index_resolves_per_board(string board, string arch, string? variant)
    {
        using var t = new TempDir();
        Assert.Equal(0, Run(t.Path, "add", ImageFixtures.File("busybox-multi")).ExitCode);
        var img = ContentStore.Open(t.Path).Resolve(Multi, Board.Get(board).Platform);
        Assert.Equal(arch, img.Config.Architecture);
        Assert.Equal(variant, img.Config.Variant);
        Assert.Single(img.Layers);
    }

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void Missing_platform_lists_the_platforms_there()
    {
        using var t = new TempDir();
        Assert.Equal(0, Run(t.Path, "add", ImageFixtures.File("busybox-multi.oci.tar")).ExitCode);
        var r = Run(t.Path, "export", "--platform", "linux/riscv64", Multi, "-o", t["x.tar"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("has no linux/riscv64 variant; it has: linux/amd64, linux/arm64, linux/arm/v7", r.Error);
        Assert.False(File.Exists(t["x.tar"]));
    }

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void Ls_json_shows_names_tags_platforms_digest_and_size()
    {
        using var t = new TempDir();
        Assert.Equal(0, Run(t.Path, "add", ImageFixtures.File("busybox-multi.oci.tar"), ImageFixtures.File("busybox.oci.tar")).ExitCode);
        var r = Run(t.Path, "ls", "--output", "json");
        Assert.Equal(0, r.ExitCode);
        var doc = JsonDocument.Parse(r.Out).RootElement;
        Assert.Equal(2, doc.GetArrayLength());
        var multi = doc.EnumerateArray().Single(e => e.GetProperty("name").GetString() == "example.local/fixtures/busybox-multi");
        Assert.Equal("1.35", multi.GetProperty("tag").GetString());
        Assert.Equal(["linux/amd64", "linux/arm64", "linux/arm/v7"], multi.GetProperty("platforms").EnumerateArray().Select(p => p.GetString()!));
        Assert.StartsWith("sha256:", multi.GetProperty("digest").GetString());
        Assert.True(multi.GetProperty("size").GetInt64() > 1_000_000);
        var text = Run(t.Path, "ls");
        Assert.Contains("linux/amd64,linux/arm64,linux/arm/v7", text.Out);
    }

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void Rm_by_name_and_digest_then_gc_removes_only_unreferenced_blobs()
    {
        using var t = new TempDir();
        Assert.Equal(0, Run(t.Path, "add", ImageFixtures.File("busybox-multi.oci.tar"), ImageFixtures.File("busybox.oci.tar")).ExitCode);
        var blobs = Directory.GetFiles(Path.Combine(t.Path, "blobs", "sha256")).Length;
        var digest = ManifestDigest(t.Path, Single);
        Assert.Equal(0, Run(t.Path, "rm", Multi).ExitCode);
        Assert.Equal(blobs, Directory.GetFiles(Path.Combine(t.Path, "blobs", "sha256")).Length); // rm keeps blobs
        var gc = Run(t.Path, "gc");
        Assert.Equal(0, gc.ExitCode);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(t.Path, "blobs", "sha256")).Length); // manifest, config, layer
        Assert.Empty(ContentStore.Open(t.Path).Verify());
        Assert.Equal(0, Run(t.Path, "rm", "example.local/fixtures/busybox@" + digest).ExitCode);
        Assert.Equal(2, Run(t.Path, "rm", digest).ExitCode); // gone already
        Assert.Equal(0, Run(t.Path, "gc").ExitCode);
        Assert.Empty(Directory.GetFiles(Path.Combine(t.Path, "blobs", "sha256")));
    }

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void Verify_names_a_corrupt_blob_and_exits_1()
    {
        using var t = new TempDir();
        Assert.Equal(0, Run(t.Path, "add", ImageFixtures.File("busybox.oci.tar")).ExitCode);
        Assert.Equal(0, Run(t.Path, "verify").ExitCode);
        var layer = Directory.GetFiles(Path.Combine(t.Path, "blobs", "sha256")).OrderByDescending(f => new FileInfo(f).Length).First();
        using (var f = new FileStream(layer, FileMode.Open, FileAccess.ReadWrite))
        {
            f.Position = 5000;
            var b = f.ReadByte();
            f.Position = 5000;
            f.WriteByte((byte)(b ^ 0xff));
        }
        var r = Run(t.Path, "verify");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"blob sha256:{Path.GetFileName(layer)} is corrupt", r.Error);
    }

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void Adding_the_same_archive_twice_changes_nothing()
    {
        using var t = new TempDir();
        Assert.Equal(0, Run(t.Path, "add", ImageFixtures.File("busybox-multi.oci.tar")).ExitCode);
        var before = TreeHash.Of(t.Path);
        Assert.Equal(0, Run(t.Path, "add", ImageFixtures.File("busybox-multi")).ExitCode);
        Assert.Equal(before, TreeHash.Of(t.Path));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Store_location_comes_from_option_then_environment_then_xdg_default()
    {
        var env = new Dictionary<string, string?> { ["APPLIANCE_STORE"] = "/e/store", ["XDG_DATA_HOME"] = "/xdg", ["HOME"] = "/home/u" };
        Assert.Equal("/o/store", StoreLocation.Resolve("/o/store", n => env.GetValueOrDefault(n)));
        Assert.Equal("/e/store", StoreLocation.Resolve(null, n => env.GetValueOrDefault(n)));
        env.Remove("APPLIANCE_STORE");
        Assert.Equal("/xdg/appliance/store", StoreLocation.Resolve(null, n => env.GetValueOrDefault(n)));
        env.Remove("XDG_DATA_HOME");
        Assert.Equal("/home/u/.local/share/appliance/store", StoreLocation.Resolve(null, n => env.GetValueOrDefault(n)));
    }
}
