// Docker reference normalization: the names CRI looks preloaded images up by.
using Appliance.ClusterRuntime.Agent.Images;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "Unit")]
public sealed class ImageImportNameTests
{
    [Theory]
    [InlineData("busybox:1", "docker.io/library/busybox:1")]
    [InlineData("busybox", "docker.io/library/busybox:latest")]
    [InlineData("bars/httpd:1", "docker.io/bars/httpd:1")]
    [InlineData("docker.io/busybox:1", "docker.io/library/busybox:1")]
    [InlineData("index.docker.io/bars/httpd:1", "docker.io/bars/httpd:1")]
    [InlineData("example.local/fixtures/busybox:1.35", "example.local/fixtures/busybox:1.35")]
    [InlineData("localhost/app:2", "localhost/app:2")]
    [InlineData("registry:5000/app", "registry:5000/app:latest")]
    [InlineData("busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "docker.io/library/busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    public void Normalize(string name, string expected) => Assert.Equal(expected, ImageName.Normalize(name));

    [Theory]
    [InlineData("", "empty")]
    [InlineData("Busybox:1", "repository 'library/Busybox'")]
    [InlineData("busybox:bad/tag:", "tag")]
    [InlineData("busybox@md5", "not a digest")]
    public void Refuses(string name, string why) =>
        Assert.Contains(why, Assert.Throws<FormatException>(() => ImageName.Normalize(name)).Message);
}
