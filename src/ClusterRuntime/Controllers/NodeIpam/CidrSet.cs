// The blocks of --node-cidr-mask-size carved from --cluster-cidr, and which node holds each.
using System.Net;
using Appliance.ClusterRuntime.Api.Storage.Services;

namespace Appliance.ClusterRuntime.Controllers.NodeIpam;

/// <summary>As upstream's cidrset: block i of the cluster CIDR is base + i * block size; the lowest free one is handed out.</summary>
public sealed class CidrSet
{
    readonly IPNetwork _cluster;
    readonly int _mask;
    readonly int _bits;
    readonly UInt128 _base;
    readonly Dictionary<long, string> _owners = [];

    /// <summary>Blocks of prefix length <paramref name="mask"/> inside <paramref name="cluster"/>.</summary>
    public CidrSet(IPNetwork cluster, int mask)
    {
        _cluster = cluster;
        _mask = mask;
        _bits = cluster.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128;
        _base = IpRange.ToNumber(cluster.BaseAddress);
        Count = mask - cluster.PrefixLength >= 62 ? long.MaxValue : 1L << (mask - cluster.PrefixLength);
    }

    /// <summary>How many blocks there are.</summary>
    public long Count { get; }

    /// <summary>The block at <paramref name="index"/>, as CIDR text.</summary>
    public string Block(long index) => $"{IpRange.FromNumber(_base + ((UInt128)index << (_bits - _mask)), _bits)}/{_mask}";

    /// <summary>The index of a block given as CIDR text, or null when it is not one of this set's blocks.</summary>
    public long? IndexOf(string cidr)
    {
        if (!IPNetwork.TryParse(cidr, out var n) || n.PrefixLength != _mask || !_cluster.Contains(n.BaseAddress)) return null;
        return (long)((IpRange.ToNumber(n.BaseAddress) - _base) >> (_bits - _mask));
    }

    /// <summary>Records that <paramref name="node"/> holds block <paramref name="index"/>; false when another node does.</summary>
    public bool Occupy(long index, string node)
    {
        if (_owners.TryGetValue(index, out var holder)) return holder == node;
        _owners[index] = node;
        return true;
    }

    /// <summary>Frees the blocks <paramref name="node"/> holds.</summary>
    public void Release(string node)
    {
        foreach (var index in _owners.Where(o => o.Value == node).Select(o => o.Key).ToList()) _owners.Remove(index);
    }

    /// <summary>Gives <paramref name="node"/> the lowest free block; null when all are taken.</summary>
    public long? Allocate(string node)
    {
        for (long i = 0; i < Count; i++)
            if (!_owners.ContainsKey(i))
            {
                _owners[i] = node;
                return i;
            }
        return null;
    }
}
