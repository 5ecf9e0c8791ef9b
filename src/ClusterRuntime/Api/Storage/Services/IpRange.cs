// Address arithmetic over one CIDR: offsets to addresses and back, for ClusterIPs and node pod CIDRs.
using System.Net;
using System.Net.Sockets;

namespace Appliance.ClusterRuntime.Api.Storage.Services;

/// <summary>
/// The addresses of a CIDR as offsets from its base address. For IPv4 the network and broadcast addresses are not
/// usable (as upstream's service IP allocator leaves them out); a range is capped at 2^20 usable offsets, which is
/// more than any allocator here scans.
/// </summary>
public sealed class IpRange
{
    readonly UInt128 _base;
    readonly int _bits;

    /// <summary>A range over <paramref name="network"/>.</summary>
    public IpRange(IPNetwork network)
    {
        Network = network;
        _bits = network.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        _base = ToNumber(network.BaseAddress);
        var hostBits = _bits - network.PrefixLength;
        var total = hostBits >= 64 ? ulong.MaxValue : 1UL << hostBits;
        // IPv4 drops network and broadcast; IPv6 drops the subnet-router anycast address (offset 0).
        First = 1;
        var usable = _bits == 32 ? (total < 2 ? 0 : total - 2) : total - 1;
        Size = (long)Math.Min(1UL << 20, usable);
    }

    /// <summary>The CIDR.</summary>
    public IPNetwork Network { get; }

    /// <summary>The first usable offset.</summary>
    public long First { get; }

    /// <summary>How many usable addresses (offsets <see cref="First"/> .. First + Size - 1).</summary>
    public long Size { get; }

    /// <summary>"IPv4" or "IPv6", as Service <c>ipFamilies</c> write it.</summary>
    public string Family => _bits == 32 ? "IPv4" : "IPv6";

    /// <summary>The address at <paramref name="offset"/>.</summary>
    public IPAddress At(long offset) => FromNumber(_base + (UInt128)offset, _bits);

    /// <summary>The offset of <paramref name="ip"/>, or null when it is not a usable address of the range.</summary>
    public long? OffsetOf(IPAddress ip)
    {
        if (ip.AddressFamily != Network.BaseAddress.AddressFamily || !Network.Contains(ip)) return null;
        var offset = ToNumber(ip) - _base;
        return offset >= (UInt128)First && offset < (UInt128)(First + Size) ? (long)offset : null;
    }

    /// <summary>The address as a number.</summary>
    public static UInt128 ToNumber(IPAddress ip)
    {
        UInt128 n = 0;
        foreach (var b in ip.GetAddressBytes()) n = (n << 8) | b;
        return n;
    }

    /// <summary>The address of a number in a family of <paramref name="bits"/> bits.</summary>
    public static IPAddress FromNumber(UInt128 n, int bits)
    {
        var bytes = new byte[bits / 8];
        for (int i = bytes.Length - 1; i >= 0; i--, n >>= 8) bytes[i] = (byte)(n & 0xff);
        return new IPAddress(bytes);
    }
}
