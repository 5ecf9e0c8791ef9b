// docker-save archives: layer compression sniffed from the bytes, RepoTags and --name give the names.
using System.Text;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Tests.Cli;
using static Appliance.ImageBuilder.Tests.Store.TestImages;

namespace Appliance.ImageBuilder.Tests.Store;

/// <summary>Docker archives with compressed layers, and extra names.</summary>
public class DockerArchiveTests
{
    [Theory]
    [Trait("Category", "RoundTrip")]
    [InlineData(LayerCompression.Gzip, MediaTypes.OciLayerGzip)]
    [InlineData(LayerCompression.None, MediaTypes.OciLayer)]
    public void Docker_archive_layers_are_sniffed_and_typed(LayerCompression c, string mediaType)
    {
        using var t = new TempDir();
        var raw = SimpleLayer("docker");
        var blob = c == LayerCompression.Gzip ? Gzip(raw) : raw;
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{Sha(raw)}\"]}}}}");
        var path = t["d.tar"];
        File.WriteAllBytes(path, ArchiveTar([
            ("manifest.json", Encoding.UTF8.GetBytes($"[{{\"Config\":\"blobs/sha256/{Sha(config)[7..]}\",\"RepoTags\":[\"busybox:docker\",\"example.local/second:2\"],\"Layers\":[\"blobs/sha256/{Sha(blob)[7..]}\"]}}]")),
            ("blobs/sha256/" + Sha(config)[7..], config),
            ("blobs/sha256/" + Sha(blob)[7..], blob)]));
        var r = CliRunner.Run("store", "--store", t["s"], "add", "--name", "example.local/third:3", path);
        Assert.True(r.ExitCode == 0, r.Error);
        var s = Appliance.ImageBuilder.Store.ContentStore.Open(t["s"]);
        var names = s.List().Select(i => $"{i.Name}:{i.Tag}").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["docker.io/library/busybox:docker", "example.local/second:2", "example.local/third:3"], names);
        var img = s.Resolve("busybox:docker", Platform.LinuxAmd64);
        Assert.Equal(mediaType, img.Layers[0].MediaType);
        Assert.Equal(Sha(blob), img.Layers[0].Digest);
    }
}

/// <summary>OCI layout directories: symlinks are refused so nothing outside the directory is read.</summary>
public class LayoutDirectoryTests
{
    [Fact]
    [Trait("Category", "Unit")]
    public void A_blob_that_is_a_symlink_is_refused_and_the_store_is_unchanged()
    {
        using var t = new TempDir();
        var img = Make("example.local/x:1", [SimpleLayer()]);
        var dir = t["layout"];
        foreach (var (name, data) in img.Files())
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, name))!);
            File.WriteAllBytes(Path.Combine(dir, name), data);
        }
        var layer = Sha(img.Layers[0])[7..];
        File.Delete(Path.Combine(dir, "blobs", "sha256", layer));
        File.CreateSymbolicLink(Path.Combine(dir, "blobs", "sha256", layer), "/etc/passwd");
        var store = t["store"];
        Assert.Equal(0, CliRunner.Run("store", "--store", store, "ls").ExitCode);
        var r = CliRunner.Run("store", "--store", store, "add", dir);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{dir}: 'blobs/sha256/{layer}' goes through a symbolic link", r.Error);
        Assert.False(Directory.Exists(store)); // a refused first add leaves no store behind
    }
}
