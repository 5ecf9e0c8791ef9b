// The network part of the site profile as the device steps take it: hostname, interfaces, time servers.
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Appliance.Firstboot.Device;

/// <summary>One entry of the profile's <c>network.interfaces</c>.</summary>
/// <param name="Name">The kernel name, such as eth0.</param>
public sealed record InterfaceSettings(string Name)
{
    /// <summary><c>dhcp: true</c>: the address comes from busybox udhcpc (the others are then empty).</summary>
    public bool Dhcp { get; init; }

    /// <summary>Static addresses with prefix, such as <c>192.168.10.5/24</c>.</summary>
    public IReadOnlyList<string> Addresses { get; init; } = [];

    /// <summary>The default gateway; no default route is set without one.</summary>
    public string? Gateway { get; init; }

    /// <summary>DNS servers for /etc/resolv.conf.</summary>
    public IReadOnlyList<string> Dns { get; init; } = [];
}

/// <summary>What the network step applies: <c>node.hostname</c>, <c>network.interfaces</c>, <c>network.ntp</c>.</summary>
/// <param name="Hostname">The host name (also the node name).</param>
/// <param name="Interfaces">The interfaces to configure; others are left alone (loopback is always brought up).</param>
public sealed record NetworkSettings(string Hostname, IReadOnlyList<InterfaceSettings> Interfaces)
{
    /// <summary>NTP servers, host names or addresses (an optional <c>:PORT</c> is allowed).</summary>
    public IReadOnlyList<string> NtpServers { get; init; } = [];

    /// <summary>The first static IPv4 address of the first interface that has one (else the first IPv6): the node IP.</summary>
    public IPAddress? PrimaryStaticAddress
    {
        get
        {
            var all = Interfaces.Where(i => !i.Dhcp).SelectMany(i => i.Addresses).Select(a => ParseAddress(a).Address).ToList();
            return all.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? all.FirstOrDefault();
        }
    }

    /// <summary>Splits "ADDRESS/PREFIX".</summary>
    /// <exception cref="ArgumentException">Not an address with a prefix that fits its family.</exception>
    public static (IPAddress Address, int Prefix) ParseAddress(string text)
    {
        var slash = text.IndexOf('/');
        if (slash > 0 && IPAddress.TryParse(text[..slash], out var address)
            && int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix)
            && prefix <= (address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128))
            return (address, prefix);
        throw new ArgumentException($"'{text}' is not an address with a prefix length, such as 192.168.10.5/24");
    }
}
