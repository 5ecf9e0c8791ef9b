// RFC 1035 §3.2 and §4.1.3: resource records, and the record types the cluster zone serves (RFC 3596 AAAA, RFC 2782 SRV).
using System.Net;
using System.Net.Sockets;

namespace Appliance.ClusterRuntime.Agent.ClusterDns;

/// <summary>Record types (RFC 1035 §3.2.2, RFC 3596, RFC 2782, RFC 6891).</summary>
public enum DnsType : ushort
{
    /// <summary>IPv4 address.</summary>
    A = 1,
    /// <summary>Name server.</summary>
    NS = 2,
    /// <summary>Canonical name (alias).</summary>
    CNAME = 5,
    /// <summary>Start of authority.</summary>
    SOA = 6,
    /// <summary>Reverse pointer.</summary>
    PTR = 12,
    /// <summary>IPv6 address.</summary>
    AAAA = 28,
    /// <summary>Service location.</summary>
    SRV = 33,
    /// <summary>EDNS(0) pseudo-record.</summary>
    OPT = 41,
    /// <summary>Every type (a query only).</summary>
    ANY = 255,
}

/// <summary>One resource record of class IN; <see cref="Data"/> is set by the factory methods.</summary>
public sealed record DnsRecord(string Name, DnsType Type, uint Ttl, DnsRecordData Data)
{
    /// <summary>An A or AAAA record, by the address family.</summary>
    public static DnsRecord Address(string name, IPAddress address, uint ttl) =>
        new(name, address.AddressFamily == AddressFamily.InterNetworkV6 ? DnsType.AAAA : DnsType.A, ttl, new DnsRecordData.Address(address));

    /// <summary>A CNAME, PTR or NS record pointing at <paramref name="target"/>.</summary>
    public static DnsRecord Pointer(string name, DnsType type, string target, uint ttl) => new(name, type, ttl, new DnsRecordData.DomainName(target));

    /// <summary>An SRV record.</summary>
    public static DnsRecord Service(string name, ushort priority, ushort weight, ushort port, string target, uint ttl) =>
        new(name, DnsType.SRV, ttl, new DnsRecordData.Service(priority, weight, port, target));
}

/// <summary>The RDATA of the record types served.</summary>
public abstract record DnsRecordData
{
    /// <summary>A or AAAA: the address bytes.</summary>
    public sealed record Address(IPAddress Value) : DnsRecordData;

    /// <summary>CNAME, PTR, NS: one domain name (compressible, RFC 3597 §4).</summary>
    public sealed record DomainName(string Name) : DnsRecordData;

    /// <summary>SRV: priority, weight, port and a target that is never compressed (RFC 2782).</summary>
    public sealed record Service(ushort Priority, ushort Weight, ushort Port, string Target) : DnsRecordData;

    /// <summary>SOA (RFC 1035 §3.3.13): the zone's negative-answer TTL is <paramref name="Minimum"/> (RFC 2308).</summary>
    public sealed record StartOfAuthority(string PrimaryServer, string Mailbox, uint Serial, uint Refresh, uint Retry, uint Expire, uint Minimum) : DnsRecordData;
}
