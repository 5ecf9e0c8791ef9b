// Secrets (token, tokenFile contents, secret environment values) never reach stdout or stderr, even with --verbose.
using Appliance.ImageBuilder.Tests.Cli;

namespace Appliance.ImageBuilder.Tests.Profiles;

public sealed class RenderSecretsTests : IDisposable
{
    private const string FileToken = "file-token-8c1d7e0a44f2b9a6";
    private const string EnvToken = "env-token-5f3e9a1c77d0b2e4";
    private const string EnvPassword = "hunter2-but-longer-9a8b";

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private const string Body = """
        metadata:
          name: secret-site
        target:
          board: x86_64-uefi
          diskSize: 8GiB
        os:
          image: appliance/os-debian:bookworm
        runtime:
          version: v1.31.4
        node:
          role: server
          hostname: secret-site

        """;

    private static void AssertNoSecret(CliResult r, params string[] secrets)
    {
        foreach (var s in secrets)
        {
            Assert.DoesNotContain(s, r.Out);
            Assert.DoesNotContain(s, r.Error);
        }
        Assert.DoesNotContain("   at ", r.Error);
    }

    [Theory]
    [InlineData("text")]
    [InlineData("json")]
    [Trait("Category", "Unit")]
    public void Token_from_token_file_is_redacted(string output)
    {
        _dir.Write("keys/site.token", FileToken + "\n");
        var parent = _dir.Write("parent.yaml", "apiVersion: appliance/v1\nkind: SiteProfile\ncluster:\n  tokenFile: keys/site.token\n");
        var child = _dir.Write("sites/child.yaml", "apiVersion: appliance/v1\nkind: SiteProfile\nextends: ../parent.yaml\n" + Body);

        var r = CliRunner.Run("profile", "render", "--verbose", "--output", output, child);
        Assert.True(r.ExitCode == 0, r.Error);
        AssertNoSecret(r, FileToken);
        Assert.Contains("<redacted>", r.Out);
        Assert.Contains("../keys/site.token", r.Out); // tokenFile is relative to parent.yaml, shown relative to the child
        Assert.Contains("debug: ", r.Error);          // --verbose did log
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Token_and_secret_named_variables_from_the_environment_are_redacted()
    {
        var env = new Dictionary<string, string?> { ["SITE_TOKEN"] = EnvToken, ["SITE_NTP_PASSWORD"] = EnvPassword };
        // A secret-named variable used in an ordinary field is still redacted everywhere it appears.
        var p = _dir.Write("env.yaml", "apiVersion: appliance/v1\nkind: SiteProfile\n" + Body
            + "cluster:\n  token: ${env:SITE_TOKEN}\nmetadata:\n  name: secret-site\n  labels:\n    note: ${env:SITE_NTP_PASSWORD}\n");
        // (metadata given twice is a duplicate key; use a separate file without it for the render.)
        var q = _dir.Write("env2.yaml", "apiVersion: appliance/v1\nkind: SiteProfile\n" + Body.Replace("  name: secret-site\n", "  name: secret-site\n  labels:\n    note: ${env:SITE_NTP_PASSWORD}\n")
            + "cluster:\n  token: ${env:SITE_TOKEN}\n");

        foreach (var output in new[] { "text", "json" })
        {
            var r = CliRunner.Run(env, "profile", "render", "-v", "-o", output, q);
            Assert.True(r.ExitCode == 0, r.Error);
            AssertNoSecret(r, EnvToken, EnvPassword);
            Assert.Contains("read environment variable SITE_TOKEN (secret, 26 characters)", r.Error);
        }
        var bad = CliRunner.Run(env, "profile", "validate", "-v", p);
        Assert.Equal(2, bad.ExitCode);
        AssertNoSecret(bad, EnvToken, EnvPassword);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void An_invalid_profile_does_not_leak_its_token_in_problems()
    {
        var env = new Dictionary<string, string?> { ["SITE_TOKEN"] = EnvToken };
        var p = _dir.Write("bad.yaml", "apiVersion: appliance/v1\nkind: SiteProfile\n" + Body.Replace("hostname: secret-site", "hostname: " + EnvToken.ToUpperInvariant())
            + "cluster:\n  token: ${env:SITE_TOKEN}\n  clusterDns: 10.42.0.1\n");
        var r = CliRunner.Run(env, "profile", "render", "--verbose", p);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("cluster.clusterDns: clusterDns 10.42.0.1 is not inside serviceCidr 10.43.0.0/16", r.Error);
        AssertNoSecret(r, EnvToken);
        Assert.Equal("", r.Out);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void A_default_makes_an_unset_variable_optional()
    {
        var p = _dir.Write("default.yaml", "apiVersion: appliance/v1\nkind: SiteProfile\n" + Body.Replace("hostname: secret-site", "hostname: ${env:APPLIANCE_TEST_UNSET_HOST:-from-default}")
            + "cluster:\n  token: " + FileToken + "\n");
        var r = CliRunner.Run("profile", "render", p);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains("hostname: from-default", r.Out);
        AssertNoSecret(r, FileToken);
    }
}
