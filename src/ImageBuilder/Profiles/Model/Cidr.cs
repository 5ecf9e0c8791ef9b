// A network range such as 10.42.0.0/16: the base address has no bits set after the prefix.
using System.Net;

namespace Appliance.ImageBuilder.Profiles.Model;

/// <summary>An IPv4 or IPv6 network in CIDR notation.</summary>
public sealed record Cidr(IPAddress Network, int Prefix)
{
    /// <summary>Parses a network; host bits must be zero.</summary>
    public static bool TryParse(string text, out Cidr? cidr, out string? error)
    {
        cidr = null;
        if (!IpText.TryParseWithPrefix(text, out var address, out var prefix, out error))
        {
            error = "bad CIDR: " + error;
            return false;
        }
        var masked = IpText.Mask(address, prefix);
        if (!masked.Equals(address))
        {
            error = $"bad CIDR: '{text}' has host bits set; did you mean '{masked}/{prefix}'?";
            return false;
        }
        cidr = new Cidr(address, prefix);
        return true;
    }

    /// <summary>True when <paramref name="address"/> lies inside this network.</summary>
    public bool Contains(IPAddress address) =>
        address.AddressFamily == Network.AddressFamily && IpText.Mask(address, Prefix).Equals(Network);

    /// <summary>True when the two networks share at least one address.</summary>
    public bool Overlaps(Cidr other) => Contains(other.Network) || other.Contains(Network);

    /// <inheritdoc />
    public override string ToString() => $"{Network}/{Prefix}";
}

/// <summary>An interface address with its subnet prefix, such as 192.168.10.5/24 (host bits allowed).</summary>
public sealed record InterfaceAddress(IPAddress Address, int Prefix)
{
    /// <summary>Parses "ADDRESS/PREFIX".</summary>
    public static bool TryParse(string text, out InterfaceAddress? value, out string? error)
    {
        value = null;
        if (!IpText.TryParseWithPrefix(text, out var address, out var prefix, out error))
            return false;
        value = new InterfaceAddress(address, prefix);
        return true;
    }

    /// <summary>The subnet this address is on.</summary>
    public Cidr Subnet => new(IpText.Mask(Address, Prefix), Prefix);

    /// <inheritdoc />
    public override string ToString() => $"{Address}/{Prefix}";
}
