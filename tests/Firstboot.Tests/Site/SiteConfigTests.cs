// site.yaml parsing: the profile, the secrets document and where it starts, and the errors.
using System.Text;
using Appliance.Firstboot.Site;
using Appliance.Firstboot.Tests.Support;

namespace Appliance.Firstboot.Tests.Site;

/// <summary><see cref="SiteConfig.Parse"/> on what the build writes and on broken input.</summary>
[Trait("Category", "Unit")]
public sealed class SiteConfigTests
{
    /// <summary>The build's site.yaml: role, address, minimum disk, the secrets, and the cut before document 2.</summary>
    [Fact]
    public void BuildsSiteYaml_IsRead_WithTheSecretsOffset()
    {
        var bytes = Encoding.UTF8.GetBytes(TestDisk.SiteYaml("8GiB"));
        var site = SiteConfig.Parse(bytes, "site.yaml");
        Assert.Equal("shop-042", site.Name);
        Assert.Equal("server", site.Role);
        Assert.Equal(8L << 30, site.MinimumDiskBytes);
        Assert.Equal("https://192.168.10.5:6443", site.ApiAddress);
        Assert.Equal(TestDisk.Token, site.Secrets!.ClusterToken);
        Assert.Equal(["server-ca.crt", "server-ca.key"], site.Secrets.Pki.Keys);
        var head = Encoding.UTF8.GetString(bytes, 0, site.SecretsOffset);
        Assert.EndsWith("- demo.yaml\n", head);
        Assert.Null(SiteConfig.Parse(Encoding.UTF8.GetBytes(head), "site.yaml").Secrets);
    }

    /// <summary>What the device actions take from the profile: host name, interfaces (static and DHCP), time servers.</summary>
    [Fact]
    public void NetworkSettings_ComeFromTheProfile()
    {
        var site = SiteConfig.Parse(Encoding.UTF8.GetBytes("""
            metadata: {name: a}
            node: {role: server, hostname: till-1}
            network:
              interfaces:
                - name: eth0
                  addresses: [192.168.10.5/24, 192.168.10.6/24]
                  gateway: 192.168.10.1
                  dns: [192.168.10.1]
                - name: eth1
                  dhcp: true
              ntp: [192.168.10.1, ntp.site.lan]
            """), "site.yaml");
        var n = OnDeviceActions.Network(site);
        Assert.Equal("till-1", n.Hostname);
        Assert.Equal(["192.168.10.1", "ntp.site.lan"], n.NtpServers);
        Assert.Equal(2, n.Interfaces.Count);
        Assert.Equal(["192.168.10.5/24", "192.168.10.6/24"], n.Interfaces[0].Addresses);
        Assert.Equal("192.168.10.1", n.Interfaces[0].Gateway);
        Assert.Equal(["192.168.10.1"], n.Interfaces[0].Dns);
        Assert.False(n.Interfaces[0].Dhcp);
        Assert.True(n.Interfaces[1].Dhcp);
        Assert.Empty(n.Interfaces[1].Addresses);
        Assert.Equal("https://192.168.10.5:6443", site.ApiAddress);
    }

    /// <summary>An unknown pki file, an unknown key, and a missing role are refused with where.</summary>
    [Theory]
    [InlineData("metadata: {name: a}\nnode: {role: server}\n---\npki:\n  evil.key: x\n", "site.yaml:5:3: pki file 'evil.key' is not one of")]
    [InlineData("metadata: {name: a}\nnode: {role: server}\n---\npassword: x\n", "site.yaml:4:1: unexpected 'password' in the secrets document")]
    [InlineData("metadata: {name: a}\n", "site.yaml: node.role is missing")]
    public void BadInput_IsRefusedWithWhere(string yaml, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => SiteConfig.Parse(Encoding.UTF8.GetBytes(yaml), "site.yaml"));
        Assert.StartsWith(message, e.Message.Replace("appliance/site.yaml", "site.yaml"));
    }
}
