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
}
