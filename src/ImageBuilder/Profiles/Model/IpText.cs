// Strict IP address and prefix parsing (IPAddress.TryParse also accepts "1" and "10.1", which no one means).
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Appliance.ImageBuilder.Profiles.Model;

/// <summary>Strict parsing of dotted-quad IPv4 and colon IPv6 addresses, and prefixes.</summary>
public static class IpText
{
    /// <summary>Parses an address written in full (four decimal octets, or IPv6 without a zone).</summary>
    public static bool TryParseAddress(string text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.Contains(':'))
            return !text.Contains('%') && IPAddress.TryParse(text, out address!) && address.AddressFamily == AddressFamily.InterNetworkV6;
        var parts = text.Split('.');
        if (parts.Length != 4) return false;
        foreach (var p in parts)
            if (p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit) || int.Parse(p, CultureInfo.InvariantCulture) > 255)
                return false;
        return IPAddress.TryParse(text, out address!);
    }

    /// <summary>Parses "ADDRESS/PREFIX" with a prefix that fits the address family.</summary>
    public static bool TryParseWithPrefix(string text, out IPAddress address, out int prefix, out string? error)
    {
        prefix = 0;
        address = IPAddress.None;
        error = null;
        var slash = text.IndexOf('/');
        if (slash < 0)
        {
            error = $"'{text}' has no prefix length; write it as ADDRESS/PREFIX, such as 10.42.0.0/16";
            return false;
        }
        if (!TryParseAddress(text[..slash], out address))
        {
            error = $"'{text[..slash]}' in '{text}' is not an IP address";
            return false;
        }
        int max = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var p = text[(slash + 1)..];
        if (p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit) || (prefix = int.Parse(p, CultureInfo.InvariantCulture)) > max)
        {
            error = $"'{text}' has a bad prefix length '{p}'; expected 0 to {max}";
            return false;
        }
        return true;
    }

    /// <summary>The address with every bit after <paramref name="prefix"/> cleared.</summary>
    public static IPAddress Mask(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (int i = 0; i < bytes.Length; i++)
        {
            int keep = Math.Clamp(prefix - i * 8, 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }
        return new IPAddress(bytes);
    }
}
