// cluster.pki in a profile: the PKI's token is the site's, and a missing, incomplete or disagreeing PKI is a located problem.
using Appliance.Common.Pki;
using Appliance.ImageBuilder.Profiles;
using Appliance.ImageBuilder.Tests.Cli;

namespace Appliance.ImageBuilder.Tests.Profiles;

[Trait("Category", "Unit")]
public sealed class ClusterPkiProfileTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ClusterPkiDirectory _pki;

    public ClusterPkiProfileTests()
    {
        Directory.CreateDirectory(_dir["keys"]);
        _pki = ClusterPkiDirectory.Create(_dir["keys/pki"], DateTimeOffset.UtcNow).Directory;
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>The problem line (validate ends with a summary line after it).</summary>
    private static string FirstLine(string text) => text[..(text.IndexOf('\n') + 1)];

    /// <summary>A server profile in sites/ whose cluster section is <paramref name="cluster"/> (line 16 is its first line).</summary>
    private string Profile(string cluster, string role = "server") => _dir.Write("sites/site.yaml", $"""
        apiVersion: appliance/v1
        kind: SiteProfile
        metadata:
          name: pki-site
        target:
          board: x86_64-uefi
          diskSize: 8GiB
        os:
          image: appliance/os-debian:bookworm
        runtime:
          version: v1.31.4
        node:
          role: {role}
          hostname: pki-site
        cluster:
        {cluster}

        """);

    [Fact]
    public void Pki_alone_gives_the_site_its_token_and_the_build_its_files()
    {
        var r = ProfileLoader.Load(Profile("  pki: ../keys/pki"), _ => null);
        Assert.True(r.IsValid, string.Join("\n", r.Problems));
        Assert.Equal(_pki.Pki.Token.ToString(), r.Secrets.ClusterToken);
        Assert.Equal(_pki.Pki.ServerCa, r.Secrets.Pki!.Pki.ServerCa);
        Assert.Equal(_pki.Admin, r.Secrets.Pki.Admin);
        // Every key is a secret for the redactor.
        Assert.DoesNotContain("PRIVATE KEY", r.Secrets.Redactor.Redact(_pki.Pki.ServerCa.KeyPem + _pki.Pki.ClientCa.KeyPem + _pki.Admin.KeyPem));
    }

    [Fact]
    public void A_token_file_that_agrees_is_accepted_and_one_that_differs_is_a_problem_at_its_line()
    {
        _dir.Write("sites/same.token", _pki.Pki.Token + "\n");
        _dir.Write("sites/other.token", "K10" + new string('0', 64) + "::server:0123456789abcdef\n");
        Assert.True(ProfileLoader.Load(Profile("  pki: ../keys/pki\n  tokenFile: same.token"), _ => null).IsValid);

        var file = Profile("  pki: ../keys/pki\n  tokenFile: other.token");
        var r = CliRunner.Run("profile", "validate", file);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"{file}:17:14: cluster.tokenFile: the token differs from the token of cluster.pki '../keys/pki' (token there); " +
            "leave it out (the PKI's token is used) or give that token\n", FirstLine(r.Error));
    }

    [Fact]
    public void A_missing_directory_is_a_problem_at_the_pki_line_with_exit_2()
    {
        var file = Profile("  pki: ../keys/nope");
        var r = CliRunner.Run("profile", "validate", file);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"{file}:16:8: cluster.pki: cluster PKI directory '../keys/nope' not found (relative to the profile that names it; " +
            "make one with 'appliance cluster init DIR')\n", FirstLine(r.Error));
    }

    [Fact]
    public void An_incomplete_pki_names_what_is_missing()
    {
        File.Delete(_dir["keys/pki/tls/client-ca.key"]);
        var file = Profile("  pki: ../keys/pki");
        var r = CliRunner.Run("profile", "validate", file);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"{file}:16:8: cluster.pki: '../keys/pki': not a complete cluster PKI: missing tls/client-ca.key " +
            "(make a new one with 'appliance cluster init DIR')\n", FirstLine(r.Error));
    }

    [Fact]
    public void Neither_token_nor_pki_still_asks_for_one()
    {
        var file = Profile("  clusterDns: 10.43.0.10");
        var r = CliRunner.Run("profile", "validate", file);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(": cluster: set exactly one of cluster.token or cluster.tokenFile (or cluster.pki, which holds it)", r.Error);
    }

    [Fact]
    public void Render_shows_the_path_and_no_key_or_token()
    {
        var r = CliRunner.Run("profile", "render", "--verbose", Profile("  pki: ../keys/pki"));
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains("  pki: ../keys/pki\n", r.Out);
        Assert.Contains("token: <redacted>", r.Out);
        foreach (var secret in new[] { _pki.Pki.Token.Secret, "PRIVATE KEY", "BEGIN CERTIFICATE" })
        {
            Assert.DoesNotContain(secret, r.Out);
            Assert.DoesNotContain(secret, r.Error);
        }
    }
}
