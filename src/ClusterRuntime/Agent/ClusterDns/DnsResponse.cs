// RFC 1035 §4.1 / RFC 2181 §9: a response to a query, cut to the client's size with TC when it does not fit.
namespace Appliance.ClusterRuntime.Agent.ClusterDns;

/// <summary>What a resolver decided: the code, the records, and whether it speaks for the zone.</summary>
/// <param name="Rcode">The response code.</param>
/// <param name="Answers">The answer section.</param>
/// <param name="Authority">The authority section (the zone's SOA with a negative answer, RFC 2308 §3).</param>
/// <param name="Authoritative">AA: answered from the zone's own data.</param>
public sealed record DnsAnswer(DnsRcode Rcode, IReadOnlyList<DnsRecord> Answers, IReadOnlyList<DnsRecord> Authority, bool Authoritative)
{
    /// <summary>An answer of no records with <paramref name="rcode"/>.</summary>
    public static DnsAnswer Empty(DnsRcode rcode) => new(rcode, [], [], false);
}

/// <summary>Encodes answers as response messages.</summary>
internal static class DnsResponse
{
    /// <summary>The UDP size this server announces and accepts (the DNS flag day 2020 value).</summary>
    public const ushort EdnsSize = 1232;

    /// <summary>
    /// The response to <paramref name="query"/>: at most <paramref name="maxSize"/> bytes (UDP: 512, or the client's
    /// EDNS size up to <see cref="EdnsSize"/>; TCP: 65535). A response that does not fit goes without its records and
    /// with TC set, so the client asks again over TCP.
    /// </summary>
    public static byte[] Write(DnsQuery query, DnsAnswer answer, int maxSize)
    {
        byte[]? full = null;
        try { full = Write(query, answer, truncated: false); }
        catch (InvalidOperationException) { } // over 65535 bytes: only the truncated form can be sent
        return full is not null && full.Length <= maxSize ? full : Write(query, answer with { Answers = [], Authority = [] }, truncated: true);
    }

    /// <summary>The largest response the client of <paramref name="query"/> takes over UDP.</summary>
    public static int UdpLimit(DnsQuery query) => query.EdnsUdpSize is { } size ? Math.Min(size, EdnsSize) : 512;

    /// <summary>A bare error response for a message whose question cannot be read (only its ID is echoed).</summary>
    public static byte[] Error(ReadOnlySpan<byte> message, DnsRcode rcode)
    {
        var id = message.Length >= 2 ? (ushort)(message[0] << 8 | message[1]) : (ushort)0;
        return new DnsMessageWriter().Finish(new DnsHeader(id, (ushort)(DnsHeader.Response | (int)rcode), 0, 0, 0, 0));
    }

    static byte[] Write(DnsQuery query, DnsAnswer answer, bool truncated)
    {
        var writer = new DnsMessageWriter();
        writer.WriteRaw(query.Question);
        foreach (var r in answer.Answers) writer.Write(r);
        foreach (var r in answer.Authority) writer.Write(r);
        if (query.EdnsUdpSize is not null) writer.WriteOpt(EdnsSize);
        var flags = DnsHeader.Response | DnsHeader.RecursionAvailable | (query.Header.Flags & (0x7800 | DnsHeader.RecursionDesired | DnsHeader.CheckingDisabled))
            | (answer.Authoritative ? DnsHeader.Authoritative : 0) | (truncated ? DnsHeader.Truncated : 0) | (int)answer.Rcode;
        return writer.Finish(new DnsHeader(query.Header.Id, (ushort)flags, 1, (ushort)answer.Answers.Count, (ushort)answer.Authority.Count,
            (ushort)(query.EdnsUdpSize is null ? 0 : 1)));
    }
}
