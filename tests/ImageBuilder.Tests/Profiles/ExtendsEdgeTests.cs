// extends: edge cases that need a scratch directory: symbolic-link loops, long chains, paths resolved per file.
using Appliance.ImageBuilder.Profiles;
using Appliance.ImageBuilder.Tests.Cli;

namespace Appliance.ImageBuilder.Tests.Profiles;

public sealed class ExtendsEdgeTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private const string Header = "apiVersion: appliance/v1\nkind: SiteProfile\n";

    [Fact]
    [Trait("Category", "Unit")]
    public void A_path_that_loops_through_a_symbolic_link_ends_with_a_clear_problem()
    {
        var a = _dir.Write("a.yaml", Header + "extends: loop/a.yaml\n");
        Directory.CreateSymbolicLink(Path.Combine(_dir.Path, "loop"), _dir.Path);
        var r = CliRunner.Run("profile", "validate", a);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($": extends: extends chain is deeper than {ProfileLoader.MaxDepth} profiles", r.Error);
        Assert.DoesNotContain("   at ", r.Error);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void A_three_level_chain_merges_in_order_and_reports_into_the_right_file()
    {
        _dir.Write("fleet/root.yaml", Header + "metadata:\n  name: root\n  labels:\n    tier: root\ntarget:\n  board: x86_64-uefi\n  diskSize: 8GiB\n"
            + "os:\n  image: appliance/os-debian:bookworm\nruntime:\n  version: v1.31.4\nnode:\n  role: server\n  hostname: Root_Host\n"
            + "cluster:\n  token: root-token-0123456789\n");
        _dir.Write("fleet/region/north.yaml", Header + "extends: ../root.yaml\nmetadata:\n  labels:\n    region: north\n");
        var site = _dir.Write("sites/n1.yaml", Header + "extends: ../fleet/region/north.yaml\nmetadata:\n  name: n1\n");
        var r = ProfileLoader.Load(site, _ => null);
        var p = Assert.Single(r.Problems);
        Assert.Equal(Path.Combine(_dir.Path, "fleet/root.yaml"), p.File);
        Assert.Equal((16, 13, "node.hostname"), (p.Line, p.Column, p.Path));
        Assert.Equal(3, r.Chain.Count);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Rendered_strings_that_look_like_other_yaml_types_are_quoted()
    {
        _dir.Write("t.token", "quoting-token-0123456789\n");
        var f = _dir.Write("q.yaml", Header + "metadata:\n  name: q\n  labels:\n    a: \"yes\"\n    b: \"0x10\"\n    c: \"1e3\"\n    d: \"Off\"\n"
            + "target:\n  board: x86_64-uefi\n  diskSize: 8GiB\nos:\n  image: appliance/os-debian:bookworm\nruntime:\n  version: v1.31.4\n"
            + "node:\n  role: server\n  hostname: q\ncluster:\n  tokenFile: t.token\n");
        var r = CliRunner.Run("profile", "render", f);
        Assert.True(r.ExitCode == 0, r.Error);
        foreach (var expected in new[] { "a: \"yes\"", "b: \"0x10\"", "c: \"1e3\"", "d: \"Off\"" })
            Assert.Contains(expected, r.Out);
    }

    private const string Parent = "metadata:\n  name: p\ntarget:\n  board: x86_64-uefi\n  diskSize: 8GiB\nos:\n  image: appliance/os-debian:bookworm\n"
        + "node:\n  role: server\n  hostname: p\n";

    /// <summary>A child's token replaces the parent's tokenFile: no "not both" problem, and render shows only the redacted token.</summary>
    [Fact]
    [Trait("Category", "Unit")]
    public void A_child_token_replaces_the_parent_token_file()
    {
        _dir.Write("parent.token", "parent-file-token-0123456789\n");
        _dir.Write("parent.yaml", Header + Parent + "runtime:\n  version: v1.31.4\ncluster:\n  tokenFile: parent.token\n");
        var child = _dir.Write("child.yaml", Header + "extends: parent.yaml\ncluster:\n  token: child-own-token-0123456789\n");
        var validate = CliRunner.Run("profile", "validate", child);
        Assert.True(validate.ExitCode == 0, validate.Error);
        var loaded = ProfileLoader.Load(child, _ => null);
        Assert.Equal("child-own-token-0123456789", loaded.Secrets.ClusterToken);
        Assert.Null(loaded.Profile!.Cluster.TokenFile);
        var render = CliRunner.Run("profile", "render", child);
        Assert.True(render.ExitCode == 0, render.Error);
        Assert.Contains("  token: <redacted>\n", render.Out);
        Assert.DoesNotContain("tokenFile", render.Out);
        Assert.DoesNotContain("child-own-token", render.Out);
    }

    /// <summary>The reverse: a child's tokenFile replaces the parent's token; the token comes from the child's file, redacted in render.</summary>
    [Fact]
    [Trait("Category", "Unit")]
    public void A_child_token_file_replaces_the_parent_token()
    {
        _dir.Write("parent.yaml", Header + Parent + "runtime:\n  version: v1.31.4\ncluster:\n  token: parent-own-token-0123456789\n");
        _dir.Write("sites/child.token", "child-file-token-0123456789\n");
        var child = _dir.Write("sites/child.yaml", Header + "extends: ../parent.yaml\ncluster:\n  tokenFile: child.token\n");
        var validate = CliRunner.Run("profile", "validate", child);
        Assert.True(validate.ExitCode == 0, validate.Error);
        var loaded = ProfileLoader.Load(child, _ => null);
        Assert.Equal("child-file-token-0123456789", loaded.Secrets.ClusterToken);
        var render = CliRunner.Run("profile", "render", child);
        Assert.True(render.ExitCode == 0, render.Error);
        Assert.Contains("  token: <redacted>\n", render.Out);
        Assert.Contains("  tokenFile: child.token\n", render.Out);
        Assert.DoesNotContain("parent-own-token", render.Out);
        Assert.DoesNotContain("child-file-token", render.Out);
    }

    /// <summary>runtime.version and runtime.image are alternatives the same way, both ways round.</summary>
    [Theory]
    [InlineData("version: v1.31.4", "image: appliance/runtime:v1.31.4", null, "appliance/runtime:v1.31.4")]
    [InlineData("image: appliance/runtime:v1.31.4", "version: v1.32.0", "v1.32.0", null)]
    [Trait("Category", "Unit")]
    public void A_child_runtime_choice_replaces_the_parent_one(string parent, string child, string? version, string? image)
    {
        _dir.Write("parent.yaml", Header + Parent + $"runtime:\n  {parent}\ncluster:\n  token: parent-own-token-0123456789\n");
        var site = _dir.Write("child.yaml", Header + $"extends: parent.yaml\nruntime:\n  {child}\n");
        var r = ProfileLoader.Load(site, _ => null);
        Assert.True(r.IsValid, string.Join("\n", r.Problems));
        Assert.Equal((version, image), (r.Profile!.Runtime.Version, r.Profile.Runtime.Image));
    }

    /// <summary>One file that sets both alternatives is still refused, at the second one, also when a child extends it.</summary>
    [Fact]
    [Trait("Category", "Unit")]
    public void Both_alternatives_in_one_parent_are_refused_when_the_child_does_not_choose()
    {
        var parent = _dir.Write("parent.yaml", Header + Parent + "runtime:\n  version: v1.31.4\n  image: appliance/runtime:v1.31.4\ncluster:\n  token: parent-own-token-0123456789\n");
        var child = _dir.Write("child.yaml", Header + "extends: parent.yaml\nmetadata:\n  name: c\n");
        var p = Assert.Single(ProfileLoader.Load(child, _ => null).Problems);
        Assert.Equal((parent, "runtime.image", "set either runtime.version or runtime.image or runtime.absent, not both"), (p.File, p.Path, p.Message));
        var chosen = _dir.Write("chosen.yaml", Header + "extends: parent.yaml\nruntime:\n  image: appliance/runtime:v1.31.4\n");
        Assert.True(ProfileLoader.Load(chosen, _ => null).IsValid);
    }

    /// <summary>An explicit null removes the parent's choice without making one: the profile has no token, and says so.</summary>
    [Fact]
    [Trait("Category", "Unit")]
    public void A_child_null_drops_the_parent_choice_and_leaves_none()
    {
        _dir.Write("parent.yaml", Header + Parent + "runtime:\n  version: v1.31.4\ncluster:\n  token: parent-own-token-0123456789\n");
        var child = _dir.Write("child.yaml", Header + "extends: parent.yaml\ncluster:\n  token: null\n");
        var p = Assert.Single(ProfileLoader.Load(child, _ => null).Problems);
        Assert.Equal((child, "cluster", "set exactly one of cluster.token or cluster.tokenFile (or cluster.pki, which holds it)"), (p.File, p.Path, p.Message));
    }
}
