// Small pure pieces of the profile code: sizes, CIDRs, edit distance, merge rules, env references, redaction.
using Appliance.ImageBuilder.Profiles;
using Appliance.ImageBuilder.Profiles.Binding;
using Appliance.ImageBuilder.Profiles.Model;
using Appliance.ImageBuilder.Profiles.Validation;
using Appliance.ImageBuilder.Profiles.Yaml;

namespace Appliance.ImageBuilder.Tests.Profiles;

public class ProfileUnitTests
{
    [Theory]
    [InlineData("8GiB", 8L << 30)]
    [InlineData("512MiB", 512L << 20)]
    [InlineData("16GB", 16_000_000_000L)]
    [InlineData("1TiB", 1L << 40)]
    [InlineData("4096", 4096L)]
    [InlineData("2 GiB", 2L << 30)]
    [Trait("Category", "Unit")]
    public void Sizes_parse(string text, long bytes)
    {
        Assert.True(ByteSize.TryParse(text, out var s, out var error), error);
        Assert.Equal(bytes, s.Bytes);
    }

    [Theory]
    [InlineData("8 gigs")]
    [InlineData("GiB")]
    [InlineData("-1GiB")]
    [InlineData("1.5GiB")]
    [InlineData("99999999999TiB")]
    [Trait("Category", "Unit")]
    public void Bad_sizes_do_not_parse(string text) => Assert.False(ByteSize.TryParse(text, out _, out _));

    [Fact]
    [Trait("Category", "Unit")]
    public void Sizes_print_in_the_largest_exact_unit()
    {
        Assert.Equal("8GiB", new ByteSize(8L << 30).ToString());
        Assert.Equal("1536MiB", new ByteSize(1536L << 20).ToString());
        Assert.Equal("1000B", new ByteSize(1000).ToString());
    }

    [Theory]
    [InlineData("10.42.0.0/16", "10.43.0.0/16", false)]
    [InlineData("10.42.0.0/15", "10.43.0.0/16", true)]
    [InlineData("10.43.128.0/17", "10.43.0.0/16", true)]
    [InlineData("fd00:42::/56", "fd00:43::/112", false)]
    [InlineData("fd00::/8", "fd00:43::/112", true)]
    [Trait("Category", "Unit")]
    public void Cidr_overlap(string a, string b, bool overlap)
    {
        Assert.True(Cidr.TryParse(a, out var x, out _));
        Assert.True(Cidr.TryParse(b, out var y, out _));
        Assert.Equal(overlap, x!.Overlaps(y!));
        Assert.Equal(overlap, y!.Overlaps(x));
    }

    [Theory]
    [InlineData("10.42.0.1/16")]
    [InlineData("10.42.0.0")]
    [InlineData("10.42.0/16")]
    [InlineData("10.42.0.0/33")]
    [InlineData("1/8")]
    [InlineData("fd00::1/8")]
    [Trait("Category", "Unit")]
    public void Bad_cidrs_are_refused(string text) => Assert.False(Cidr.TryParse(text, out _, out _));

    [Theory]
    [InlineData("nmae", "name", 1)]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("", "abc", 3)]
    [InlineData("same", "same", 0)]
    [Trait("Category", "Unit")]
    public void Edit_distance(string a, string b, int d) => Assert.Equal(d, Suggest.Distance(a, b));

    [Fact]
    [Trait("Category", "Unit")]
    public void Suggestions_only_for_close_names()
    {
        Assert.Equal("network", Suggest.Closest("netwrok", ["metadata", "network", "node"]));
        Assert.Null(Suggest.Closest("completely", ["metadata", "network", "node"]));
    }

    [Theory]
    [InlineData("demo-x86", true)]
    [InlineData("a.b-c.d", true)]
    [InlineData("Shop_42", false)]
    [InlineData("-bad", false)]
    [InlineData("bad-", false)]
    [InlineData("a..b", false)]
    [Trait("Category", "Unit")]
    public void Rfc1123_hostnames(string name, bool ok) => Assert.Equal(ok, Syntax.IsRfc1123Hostname(name));

    [Theory]
    [InlineData("appliance/os-debian:bookworm", true)]
    [InlineData("registry.local:5000/team/app:1.2.3", true)]
    [InlineData("appliance/hello@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("appliance/hello", false)]
    [InlineData("Appliance/Hello:1", false)]
    [Trait("Category", "Unit")]
    public void Image_references(string reference, bool ok) => Assert.Equal(ok, Syntax.IsImageReference(reference));

    [Theory]
    [InlineData("/dev/vda", true)]
    [InlineData("/dev/sda", true)]
    [InlineData("/dev/nvme0n1", true)]
    [InlineData("/dev/mmcblk0", true)]
    [InlineData("/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S649NL0T123456", true)]
    [InlineData("/dev/disk/by-path/pci-0000:00:17.0-ata-1", true)]
    [InlineData("sda", false)]
    [InlineData("/dev/", false)]
    [InlineData("/dev/../sda", false)]
    [InlineData("/dev/disk/by-uuid/1234-ABCD", false)]
    [InlineData("/dev/disk/by-id/a/b", false)]
    [InlineData("/dev/disk/by-id/has space", false)]
    [Trait("Category", "Unit")]
    public void Install_disk_paths(string path, bool ok) => Assert.Equal(ok, Syntax.IsDiskDevice(path));

    [Theory]
    [InlineData("demo-x86", "DEMO_X86")]
    [InlineData("secure-room", "SECURE_ROOM")]
    [InlineData("a-very-long-site-name-that-goes-past-thirty-two", "A_VERY_LONG_SITE_NAME_THAT_GOES_")]
    [Trait("Category", "Unit")]
    public void Iso_volume_id_from_the_site_name(string site, string id) => Assert.Equal(id, Appliance.ImageBuilder.Build.IsoImage.VolumeId(site));

    [Fact]
    [Trait("Category", "Unit")]
    public void Merge_deep_merges_maps_replaces_lists_and_the_child_wins()
    {
        var problems = new List<ProfileProblem>();
        var parent = YamlTreeReader.Read("a:\n  x: 1\n  y: 2\nl: [1, 2, 3]\nkeep: p\n", "parent.yaml", problems)!;
        var child = YamlTreeReader.Read("a:\n  y: 20\n  z: 30\nl: [9]\n", "child.yaml", problems)!;
        Assert.Empty(problems);
        var merged = (YMapping)ProfileMerger.Merge(parent, child);
        var a = (YMapping)merged.Find("a")!.Value.Value;
        Assert.Equal(["x", "y", "z"], a.Entries.Select(e => e.Key.Value));
        Assert.Equal("1", ((YScalar)a.Find("x")!.Value.Value).Value);
        Assert.Equal("20", ((YScalar)a.Find("y")!.Value.Value).Value);
        Assert.Equal("child.yaml", a.Find("y")!.Value.Value.Mark.File);
        Assert.Equal("parent.yaml", a.Find("x")!.Value.Value.Mark.File);
        Assert.Equal(["9"], ((YSequence)merged.Find("l")!.Value.Value).Items.Select(i => ((YScalar)i).Value));
        Assert.Equal("p", ((YScalar)merged.Find("keep")!.Value.Value).Value);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Env_references_resolve_with_defaults_and_escapes()
    {
        Func<string, string?> env = n => n == "A" ? "alpha" : null;
        Assert.Equal("x-alpha-y", EnvReferences.Resolve("x-${env:A}-y", env).Value);
        Assert.Equal("dflt", EnvReferences.Resolve("${env:B:-dflt}", env).Value);
        Assert.Equal("${env:A}", EnvReferences.Resolve("$${env:A}", env).Value);
        Assert.Null(EnvReferences.Resolve("${env:B}", env).Value);
        Assert.Contains("bad reference '${A}'", EnvReferences.Resolve("${A}", env).Error);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Redacting_writer_catches_secrets_split_across_writes()
    {
        var inner = new StringWriter();
        var w = new SecretRedactor(["s3cret-value-123"]).Wrap(inner);
        w.Write("token=s3cret-");
        w.Write("value-123");
        w.WriteLine(" end");
        w.Flush();
        Assert.Equal("token=<redacted> end" + Environment.NewLine, inner.ToString());
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Ssh_keys_are_checked_by_their_decoded_type()
    {
        const string good = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAYkRxsKZiDj+Oh0G51RlVRqJmqN1Bva+F2iBNQ5Hn2V ops@demo";
        Assert.Null(Syntax.SshKeyProblem(good));
        Assert.NotNull(Syntax.SshKeyProblem(good.Replace("ssh-ed25519 ", "ssh-rsa ")));
        Assert.NotNull(Syntax.SshKeyProblem("ssh-ed25519"));
    }
}
