// The cluster section of a site profile: join token, cluster PKI, server URL and address ranges.
using System.Net;

namespace Appliance.ImageBuilder.Profiles.Model;

/// <summary>How the node forms or joins the site cluster. Defaults are the usual K3s ranges.</summary>
[ProfileOneOf("token", "tokenFile", OptionalWith = "pki")]
public sealed class ClusterSpec
{
    /// <summary>The join token, in clear. Secret: never printed.</summary>
    [ProfileField("token", Secret = true, Description = "Cluster join token, at least 16 characters (or use tokenFile). Secret: redacted in output.")]
    public string? Token { get; set; }

    /// <summary>A file holding the token, relative to the profile that names it.</summary>
    [ProfileField("tokenFile", Description = "File holding the join token, relative to the profile file that names it.")]
    public ProfilePath? TokenFile { get; set; }

    /// <summary>
    /// A cluster PKI directory made by <c>appliance cluster init</c>, relative to the profile that names it. A server
    /// site's image carries its CAs and token; an agent site's only its token. When set, token and tokenFile may be
    /// left out; when given they must equal its token.
    /// </summary>
    [ProfileField("pki", Description = "Cluster PKI directory made by 'appliance cluster init DIR', relative to the profile file that names it. A server image carries its CA keys and token, an agent image only its token; token/tokenFile may then be left out (when given they must equal its token). Secret content: never printed.")]
    public ProfilePath? Pki { get; set; }

    /// <summary>The server's URL; required for agents.</summary>
    [ProfileField("server", Description = "https URL of the cluster's server; required when node.role is agent.")]
    public Uri? Server { get; set; }

    /// <summary>The pod network range.</summary>
    [ProfileField("clusterCidr", Description = "Pod network range (default 10.42.0.0/16).")]
    public Cidr ClusterCidr { get; set; } = new(IPAddress.Parse("10.42.0.0"), 16);

    /// <summary>The service network range.</summary>
    [ProfileField("serviceCidr", Description = "Service network range (default 10.43.0.0/16); must not overlap clusterCidr.")]
    public Cidr ServiceCidr { get; set; } = new(IPAddress.Parse("10.43.0.0"), 16);

    /// <summary>The cluster DNS service address, inside the service range.</summary>
    [ProfileField("clusterDns", Description = "Cluster DNS service address, inside serviceCidr (default 10.43.0.10).")]
    public IPAddress ClusterDns { get; set; } = IPAddress.Parse("10.43.0.10");
}

/// <summary>Interfaces and time.</summary>
public sealed class NetworkSpec
{
    /// <summary>Interface settings.</summary>
    [ProfileField("interfaces", Description = "Interface settings: DHCP, or static addresses with gateway and DNS.")]
    public List<InterfaceSpec> Interfaces { get; set; } = [];

    /// <summary>NTP servers (hostnames or addresses) reachable inside the site.</summary>
    [ProfileField("ntp", Description = "NTP servers reachable inside the site: hostnames or IP addresses.")]
    public List<string> Ntp { get; set; } = [];
}

/// <summary>One interface.</summary>
public sealed class InterfaceSpec
{
    /// <summary>Kernel interface name, such as eth0 or enp1s0.</summary>
    [ProfileField("name", Required = true, Description = "Kernel interface name, such as eth0 or enp1s0.")]
    public string Name { get; set; } = "";

    /// <summary>Use DHCP.</summary>
    [ProfileField("dhcp", Description = "true to configure the interface by DHCP; then addresses, gateway and dns must be absent.")]
    public bool? Dhcp { get; set; }

    /// <summary>Static addresses with prefix.</summary>
    [ProfileField("addresses", Description = "Static addresses with prefix, such as 192.168.10.5/24.")]
    public List<InterfaceAddress> Addresses { get; set; } = [];

    /// <summary>Default gateway, on one of the addresses' subnets.</summary>
    [ProfileField("gateway", Description = "Default gateway; must be on the subnet of one of the addresses.")]
    public IPAddress? Gateway { get; set; }

    /// <summary>DNS servers.</summary>
    [ProfileField("dns", Description = "DNS server addresses.")]
    public List<IPAddress> Dns { get; set; } = [];
}

/// <summary>A login user.</summary>
public sealed class UserSpec
{
    /// <summary>Login name.</summary>
    [ProfileField("name", Required = true, Description = "Login name: lowercase letter or '_' first, then letters, digits, '_' or '-' (at most 32).")]
    public string Name { get; set; } = "";

    /// <summary>OpenSSH public keys.</summary>
    [ProfileField("sshAuthorizedKeys", Description = "OpenSSH public keys, one per item (authorized_keys lines).")]
    public List<string> SshAuthorizedKeys { get; set; } = [];
}

/// <summary>The signing key.</summary>
public sealed class SigningSpec
{
    /// <summary>Path of the private key that signs the image.</summary>
    [ProfileField("key", Required = true, Description = "Path of the image signing key, relative to the profile file that names it.")]
    public ProfilePath? Key { get; set; }
}

/// <summary>Upgrade identity and trust.</summary>
public sealed class UpgradeSpec
{
    /// <summary>The version this image carries (semantic version).</summary>
    [ProfileField("version", Required = true, Description = "Version this image carries, such as 1.4.0 (semantic version).")]
    public string Version { get; set; } = "";

    /// <summary>The public key devices trust for upgrade bundles.</summary>
    [ProfileField("publicKey", Required = true, Description = "Path of the public key devices trust for upgrade bundles, relative to the profile file that names it.")]
    public ProfilePath? PublicKey { get; set; }
}
