// Unit tests: digests, reference normalisation, board platforms, platform selection, canonical manifest bytes.
using System.Text;
using Appliance.ImageBuilder.Oci;

namespace Appliance.ImageBuilder.Tests.Oci;

public class ReferenceAndPlatformTests
{
    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("busybox", "docker.io/library/busybox", "latest")]
    [InlineData("busybox:1.36", "docker.io/library/busybox", "1.36")]
    [InlineData("docker.io/library/busybox:latest", "docker.io/library/busybox", "latest")]
    [InlineData("index.docker.io/library/busybox", "docker.io/library/busybox", "latest")]
    [InlineData("rancher/pause:3.6", "docker.io/rancher/pause", "3.6")]
    [InlineData("registry.k8s.io/pause:3.9", "registry.k8s.io/pause", "3.9")]
    [InlineData("localhost:5000/app/web:v2", "localhost:5000/app/web", "v2")]
    [InlineData("localhost/app", "localhost/app", "latest")]
    public void References_normalise_like_docker(string text, string name, string tag)
    {
        var r = ImageReference.Parse(text);
        Assert.Equal(name, r.Name);
        Assert.Equal(tag, r.Tag);
        Assert.Null(r.Digest);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Digest_references()
    {
        var hex = new string('a', 64);
        var r = ImageReference.Parse($"busybox@sha256:{hex}");
        Assert.Equal("docker.io/library/busybox", r.Name);
        Assert.Null(r.Tag);
        Assert.Equal(hex, r.Digest!.Value.Hex);
        var bare = ImageReference.Parse($"sha256:{hex}");
        Assert.Null(bare.Name);
        Assert.Equal($"sha256:{hex}", bare.ToString());
    }

    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("Busybox")]
    [InlineData("busybox:bad tag")]
    [InlineData("busybox@sha256:abc")]
    [InlineData("")]
    [InlineData("a//b")]
    public void Bad_references_are_refused_with_a_reason(string text)
    {
        Assert.False(ImageReference.TryParse(text, out _, out var why));
        Assert.NotEmpty(why);
    }

    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("sha256:" + "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    [InlineData("sha256:abc", false)]
    [InlineData("sha512:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    public void Digests_are_sha256_with_64_lowercase_hex_digits(string text, bool ok) => Assert.Equal(ok, Digest.TryParse(text, out _));

    private static Descriptor Entry(string arch, string? variant, char fill) => new()
    {
        MediaType = MediaTypes.OciManifest,
        Digest = "sha256:" + new string(fill, 64),
        Size = 1,
        Platform = new Platform { Os = "linux", Architecture = arch, Variant = variant },
    };

    [Fact]
    [Trait("Category", "Unit")]
    public void Selector_picks_the_variant_and_lists_what_is_there_when_missing()
    {
        var idx = new ImageIndex { Manifests = [Entry("amd64", null, 'a'), Entry("arm", "v6", 'b'), Entry("arm", "v7", 'c'), Entry("arm64", "v8", 'd')] };
        Assert.Equal('c', PlatformSelector.Select(idx, Platform.LinuxArmV7, "img").Digest[7]);
        Assert.Equal('d', PlatformSelector.Select(idx, Platform.LinuxArm64, "img").Digest[7]); // v8 is arm64's default
        var only = new ImageIndex { Manifests = [Entry("amd64", null, 'a'), Entry("arm", "v6", 'b')] };
        var e = Assert.Throws<PlatformNotFoundException>(() => PlatformSelector.Select(only, Platform.LinuxArmV7, "img:1"));
        Assert.Equal("image img:1 has no linux/arm/v7 variant; it has: linux/amd64, linux/arm/v6", e.Message);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Variants_default_like_containerd()
    {
        Assert.True(Platform.LinuxArmV7.Matches(Platform.Parse("linux/arm")));
        Assert.False(Platform.LinuxArmV7.Matches(Platform.Parse("linux/arm/v6")));
        Assert.True(Platform.LinuxArm64.Matches(Platform.Parse("linux/arm64/v8")));
        Assert.False(Platform.LinuxAmd64.Matches(Platform.Parse("windows/amd64")));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Manifests_serialise_canonically_in_spec_field_order()
    {
        var m = new ImageManifest
        {
            SchemaVersion = 2,
            MediaType = MediaTypes.OciManifest,
            Config = new Descriptor { MediaType = MediaTypes.OciConfig, Digest = "sha256:" + new string('1', 64), Size = 10 },
            Layers = [new Descriptor { MediaType = MediaTypes.OciLayerGzip, Digest = "sha256:" + new string('2', 64), Size = 20 }],
        };
        Assert.Equal(
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:" + new string('1', 64) + "\",\"size\":10},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:" + new string('2', 64) + "\",\"size\":20}]}",
            Encoding.UTF8.GetString(OciJson.Serialize(m)));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Malformed_json_names_line_column_and_path()
    {
        var e = Assert.Throws<InvalidDataException>(() => ImageManifest.Parse("{\"schemaVersion\":2,\n \"config\": {\"size\": true}}"u8, "m.json"));
        Assert.StartsWith("m.json:2:", e.Message);
        Assert.Contains("$.config.size", e.Message);
    }
}
