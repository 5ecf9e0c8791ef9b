// The committed example profiles: all validate, render, and load into the typed model the build will use.
using Appliance.ImageBuilder.Boards;
using Appliance.ImageBuilder.Profiles;
using Appliance.ImageBuilder.Profiles.Model;
using Appliance.ImageBuilder.Tests.Cli;

namespace Appliance.ImageBuilder.Tests.Profiles;

public class SiteProfilesTests
{
    private static readonly Dictionary<string, string?> NoEnv = new();

    private static string Site(string name) => Path.Combine(ProfileTestFiles.SitesDir, name);

    [Fact]
    [Trait("Category", "Unit")]
    public void Every_site_profile_and_the_base_validate_with_exit_0()
    {
        var files = Directory.GetFiles(ProfileTestFiles.SitesDir, "*.yaml").Order(StringComparer.Ordinal)
            .Prepend(Path.Combine(ProfileTestFiles.RepoRoot, "profiles", "base.yaml")).ToArray();
        Assert.True(files.Length >= 5);
        var r = CliRunner.Run(NoEnv, ["profile", "validate", .. files]);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Equal("", r.Error);
        Assert.Equal(files.Select(f => $"{f}: valid"), r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Json_validation_of_the_sites_says_valid_with_no_problems()
    {
        var files = Directory.GetFiles(ProfileTestFiles.SitesDir, "*.yaml").Order(StringComparer.Ordinal).ToArray();
        var r = CliRunner.Run(NoEnv, ["profile", "validate", "--output", "json", .. files]);
        Assert.Equal(0, r.ExitCode);
        using var doc = System.Text.Json.JsonDocument.Parse(r.Out);
        Assert.True(doc.RootElement.GetProperty("valid").GetBoolean());
        var profiles = doc.RootElement.GetProperty("profiles").EnumerateArray().ToList();
        Assert.Equal(files, profiles.Select(p => p.GetProperty("file").GetString()));
        Assert.All(profiles, p => Assert.Equal(0, p.GetProperty("problems").GetArrayLength()));
    }

    [Theory]
    [InlineData("demo-x86.yaml")]
    [InlineData("demo-arm64.yaml")]
    [InlineData("shop-042-pi4.yaml")]
    [InlineData("secure-room.yaml")]
    [InlineData("legacy-pi2.yaml")]
    [InlineData("site-server.yaml")]
    [InlineData("site-agent.yaml")]
    [Trait("Category", "Unit")]
    public void Every_site_renders_as_yaml_and_json(string name)
    {
        var yaml = CliRunner.Run("profile", "render", Site(name));
        Assert.True(yaml.ExitCode == 0, yaml.Error);
        Assert.Contains("token: <redacted>", yaml.Out);
        // The rendered YAML is itself a valid profile once the redacted token is replaced.
        using var dir = new TempDir();
        var copy = dir.Write("rendered.yaml", yaml.Out
            .Replace("  token: <redacted>\n", "")
            .Replace("tokenFile: ../secrets/demo-cluster.token", $"tokenFile: {Path.Combine(ProfileTestFiles.RepoRoot, "profiles/secrets/demo-cluster.token")}")
            .Replace("pki: ../pki/demo", $"pki: {ProfileTestFiles.DemoPki}")
            .Replace("pki: ../pki/site", $"pki: {ProfileTestFiles.SitePki}")
            .Replace("- ../manifests/hello.yaml", $"- {Path.Combine(ProfileTestFiles.RepoRoot, "profiles/manifests/hello.yaml")}")
            .Replace("- ../manifests/site.yaml", $"- {Path.Combine(ProfileTestFiles.RepoRoot, "profiles/manifests/site.yaml")}"));
        var again = CliRunner.Run("profile", "validate", copy);
        Assert.True(again.ExitCode == 0, again.Error);

        var json = CliRunner.Run("profile", "render", "--output", "json", Site(name));
        Assert.Equal(0, json.ExitCode);
        using var doc = System.Text.Json.JsonDocument.Parse(json.Out);
        Assert.Equal("<redacted>", doc.RootElement.GetProperty("cluster").GetProperty("token").GetString());
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void The_typed_model_carries_merged_values_and_the_secret_separately()
    {
        var r = ProfileLoader.Load(Site("shop-042-pi4.yaml"), _ => null);
        Assert.True(r.IsValid, string.Join("\n", r.Problems));
        var p = r.Profile!;
        Assert.Equal(Board.Arm64Rpi, p.Target.Board);
        Assert.Equal(ImageFormat.Raw, p.Target.Format);
        Assert.Equal(16L << 30, p.Target.DiskSize.Bytes);
        Assert.Equal(NodeRole.Agent, p.Node.Role);
        Assert.Equal(new Uri("https://192.168.42.10:6443"), p.Cluster.Server);
        // Maps merge: the site's labels are added to base.yaml's.
        Assert.Equal("edge", p.Metadata.Labels["fleet"]);
        Assert.Equal("shop-042", p.Metadata.Labels["site"]);
        // Lists replace: base.yaml's DHCP interface is gone.
        var nic = Assert.Single(p.Network.Interfaces);
        Assert.Null(nic.Dhcp);
        Assert.Equal("192.168.42.21/24", Assert.Single(nic.Addresses).ToString());
        // Paths resolve against the file that wrote them (base.yaml), not the site.
        Assert.Equal(Path.Combine(ProfileTestFiles.RepoRoot, "profiles", "manifests", "hello.yaml"), Assert.Single(p.Manifests).FullPath);
        var token = File.ReadAllText(Path.Combine(ProfileTestFiles.RepoRoot, "profiles", "secrets", "demo-cluster.token")).Trim();
        Assert.Equal(token, r.Secrets.ClusterToken);
        Assert.Equal(token, p.Cluster.Token);
        Assert.Equal("x <redacted> y", r.Secrets.Redactor.Redact($"x {token} y"));
        Assert.Equal(
            [Path.Combine(ProfileTestFiles.SitesDir, "shop-042-pi4.yaml"), Path.Combine(ProfileTestFiles.RepoRoot, "profiles", "base.yaml")],
            r.Chain);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Secure_room_empties_the_inherited_lists()
    {
        var r = ProfileLoader.Load(Site("secure-room.yaml"), _ => null);
        Assert.True(r.IsValid, string.Join("\n", r.Problems));
        Assert.Equal(ImageFormat.Iso, r.Profile!.Target.Format);
        Assert.Equal("/dev/disk/by-path/pci-0000:00:17.0-ata-1", r.Profile.Target.InstallDisk);
        Assert.Empty(r.Profile.Images);
        Assert.Empty(r.Profile.Manifests);
        Assert.Equal("172.21.0.10", r.Profile.Cluster.ClusterDns.ToString());
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void An_env_reference_with_a_default_uses_the_variable_when_set()
    {
        var unset = ProfileLoader.Load(Site("legacy-pi2.yaml"), _ => null);
        Assert.Equal(new Uri("https://10.7.0.10:6443"), unset.Profile!.Cluster.Server);
        var set = ProfileLoader.Load(Site("legacy-pi2.yaml"), n => n == "PLANT7_SERVER_URL" ? "https://10.7.9.9:6443" : null);
        Assert.Equal(new Uri("https://10.7.9.9:6443"), set.Profile!.Cluster.Server);
        var bad = CliRunner.Run(new Dictionary<string, string?> { ["PLANT7_SERVER_URL"] = "ftp://x" }, "profile", "validate", Site("legacy-pi2.yaml"));
        Assert.Equal(2, bad.ExitCode);
        Assert.StartsWith($"{Site("legacy-pi2.yaml")}:", bad.Error);
        Assert.Contains(": cluster.server: 'ftp://x' is not an https URL such as https://10.0.0.1:6443", bad.Error);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Render_is_deterministic()
    {
        var a = CliRunner.Run("profile", "render", Site("demo-x86.yaml"));
        var b = CliRunner.Run("profile", "render", Site("demo-x86.yaml"));
        Assert.Equal(0, a.ExitCode);
        Assert.Equal(a.Out, b.Out);
    }
}
