// The secrets a build puts in site.yaml (server: token and CA keys; agent: token only) and the NAME.kubeconfig it writes.
using System.Security.Cryptography;
using System.Text;
using Appliance.Common.Pki;
using Appliance.ImageBuilder.Build;
using Appliance.ImageBuilder.Profiles;
using Appliance.ImageBuilder.IO;
using Appliance.ImageBuilder.Tests.Cli;
using YamlDotNet.RepresentationModel;

namespace Appliance.ImageBuilder.Tests.Build;

[Trait("Category", "RoundTrip")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SiteSecretsTests
{
    private const UnixFileMode Owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static (SyntheticOs Os, ClusterPkiDirectory Pki) WithPki()
    {
        var os = new SyntheticOs();
        return (os, ClusterPkiDirectory.Create(Path.Combine(os.Dir, "pki"), DateTimeOffset.UtcNow).Directory);
    }

    private static List<YamlDocument> Documents(byte[] siteYaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(Encoding.UTF8.GetString(siteYaml)));
        return [.. stream.Documents];
    }

    private static byte[] SiteYaml(string profile)
    {
        var loaded = ProfileLoader.Load(profile, _ => null);
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Problems));
        return ImageBuild.SiteYaml(new BuildRequest(profile, "/nonexistent", SyntheticOs.Epoch), loaded);
    }

    private static string Scalar(YamlNode node, string key) => ((YamlScalarNode)((YamlMappingNode)node)[key]).Value!;

    [Fact]
    public void ServerSite_CarriesTheTokenAndTheFiveIdentityFiles_ExactlyAsThePkiHoldsThem()
    {
        var (os, pki) = WithPki();
        using var _ = os;
        var yaml = SiteYaml(os.Profile("srv", cluster: "pki: ../pki"));
        var docs = Documents(yaml);
        Assert.Equal(2, docs.Count);
        // Document 1 is the redacted profile: no key, no token.
        var text = Encoding.UTF8.GetString(yaml);
        var first = text[..text.IndexOf("\n---\n", StringComparison.Ordinal)];
        Assert.DoesNotContain("PRIVATE KEY", first);
        Assert.DoesNotContain(pki.Pki.Token.Secret, first);
        Assert.Contains("token: <redacted>", first);

        var secrets = (YamlMappingNode)docs[1].RootNode;
        Assert.Equal(["clusterToken", "pki"], secrets.Children.Keys.Select(k => ((YamlScalarNode)k).Value));
        Assert.Equal(pki.Pki.Token.ToString(), Scalar(secrets, "clusterToken"));
        var files = (YamlMappingNode)secrets["pki"];
        Assert.Equal(ClusterPkiFiles.ProvidedTls, files.Children.Keys.Select(k => ((YamlScalarNode)k).Value));
        foreach (var name in ClusterPkiFiles.ProvidedTls)
            Assert.Equal(File.ReadAllText(Path.Combine(pki.Path, "tls", name)), Scalar(files, name));
        // The admin key stays with the operator: it is not on the device.
        Assert.DoesNotContain(pki.Admin.KeyPem.Split('\n')[1], text);
    }

    [Fact]
    public void AgentSite_CarriesOnlyTheToken_OfThePki()
    {
        var (os, pki) = WithPki();
        using var _ = os;
        var yaml = SiteYaml(os.Profile("agt", role: "agent", cluster: "pki: ../pki\nserver: https://10.0.0.5:6443"));
        var secrets = (YamlMappingNode)Documents(yaml)[1].RootNode;
        Assert.Equal(["clusterToken"], secrets.Children.Keys.Select(k => ((YamlScalarNode)k).Value));
        Assert.Equal(pki.Pki.Token.ToString(), Scalar(secrets, "clusterToken"));
        Assert.DoesNotContain("PRIVATE KEY", Encoding.UTF8.GetString(yaml));
        Assert.DoesNotContain("BEGIN CERTIFICATE", Encoding.UTF8.GetString(yaml));
    }

    [Fact]
    public void ServerBuild_WritesNameKubeconfig0600_ForTheFirstStaticAddress_AndNoOtherOutputHoldsASecret()
    {
        var (os, pki) = WithPki();
        using var _ = os;
        var profile = os.Profile("srv", cluster: "pki: ../pki", extra: """
            network:
              interfaces:
                - name: eth0
                  addresses: [192.168.7.20/24]
                  gateway: 192.168.7.1
            """ + "\n");
        var outDir = Path.Combine(os.Dir, "out");
        var r = os.Build(profile, outDir);
        Assert.Equal(Path.Combine(outDir, "srv.kubeconfig"), r.KubeconfigPath);
        Assert.Equal(Owner, File.GetUnixFileMode(r.KubeconfigPath!));
        Assert.Equal(Kubeconfig.Render("https://192.168.7.20:6443", pki.Pki.ServerCa, pki.Admin), File.ReadAllText(r.KubeconfigPath!));
        // site.yaml on the boot partition is the document checked above (the manifest records its digest).
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(SiteYaml(profile))), r.Manifest.SiteConfigSha256);
        foreach (var output in new[] { r.ManifestPath, r.SbomPath })
        {
            var text = File.ReadAllText(output);
            Assert.DoesNotContain(pki.Pki.Token.Secret, text);
            Assert.DoesNotContain("PRIVATE KEY", text);
        }
    }

    [Fact]
    public void ApiServerOverride_AndTheDhcpDefault_NameTheServerInTheKubeconfig()
    {
        var (os, pki) = WithPki();
        using var _ = os;
        var dhcp = os.Build(os.Profile("dhcp", hostname: "shop-7", cluster: "pki: ../pki"), Path.Combine(os.Dir, "dhcp"));
        Assert.Contains("    server: https://shop-7:6443\n", File.ReadAllText(dhcp.KubeconfigPath!));
        var forwarded = os.Build(os.Profile("fwd", cluster: "pki: ../pki"), Path.Combine(os.Dir, "fwd"), apiServer: new Uri("https://127.0.0.1:16443"));
        Assert.Contains("    server: https://127.0.0.1:16443\n", File.ReadAllText(forwarded.KubeconfigPath!));
    }

    [Fact]
    public void AgentBuild_WritesNoKubeconfig_AndRemovesAnEarlierOne()
    {
        var (os, _) = WithPki();
        using var __ = os;
        var outDir = Path.Combine(os.Dir, "out");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "agt.kubeconfig"), "stale");
        var r = os.Build(os.Profile("agt", role: "agent", cluster: "pki: ../pki\nserver: https://10.0.0.5:6443"), outDir);
        Assert.Null(r.KubeconfigPath);
        Assert.False(File.Exists(Path.Combine(outDir, "agt.kubeconfig")));
    }

    [Fact]
    public void ApiServer_IsRefused_ForASiteWithoutAKubeconfig_AndWhenNotHttps()
    {
        using var os = new SyntheticOs();
        var e = Assert.Throws<UserInputException>(() => os.Build(os.Profile("plain"), Path.Combine(os.Dir, "out"), apiServer: new Uri("https://10.0.0.1:6443")));
        Assert.Contains("--api-server applies to a server site with cluster.pki", e.Message);
        var r = CliRunner.Run("build", os.Profile("plain"), "-o", Path.Combine(os.Dir, "out2"), "--store", os.StoreDir, "--api-server", "http://10.0.0.1:6443");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("appliance: --api-server: 'http://10.0.0.1:6443' is not an https URL such as https://192.168.1.10:6443\n", r.Error);
    }
}
