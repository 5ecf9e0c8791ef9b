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
        var path = t.Sub("d.tar");
        File.WriteAllBytes(path, ArchiveTar([
            ("manifest.json", Encoding.UTF8.GetBytes($"[{{\"Config\":\"blobs/sha256/{Sha(config)[7..]}\",\"RepoTags\":[\"busybox:docker\",\"example.local/second:2\"],\"Layers\":[\"blobs/sha256/{Sha(blob)[7..]}\"]}}]")),
            ("blobs/sha256/" + Sha(config)[7..], config),
            ("blobs/sha256/" + Sha(blob)[7..], blob)]));
        var r = CliRunner.Run("store", "--store", t.Sub("s"), "add", "--name", "example.local/third:3", path);
        Assert.True(r.ExitCode == 0, r.Error);
        var s = Appliance.ImageBuilder.Store.ContentStore.Open(t.Sub("s"));
        var names = s.List().Select(i => $"{i.Name}:{i.Tag}").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["docker.io/library/busybox:docker", "example.local/second:2", "example.local/third:3"], names);
        var img = s.Resolve("busybox:docker", Platform.LinuxAmd64);
        Assert.Equal(mediaType, img.Layers[0].MediaType);
        Assert.Equal(Sha(blob), img.Layers[0].Digest);
    }
}
