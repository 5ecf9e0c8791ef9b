// RFC 1035 §4.1.2: a query's question, and the EDNS(0) OPT record (RFC 6891 §6.1) that sets its UDP size.
using System.Buffers.Binary;

namespace Appliance.ClusterRuntime.Agent.ClusterDns;

/// <summary>Response codes (RFC 1035 §4.1.1).</summary>
public enum DnsRcode
{
    /// <summary>Answered (possibly with no records: NODATA).</summary>
    NoError = 0,
    /// <summary>The query could not be read.</summary>
    FormErr = 1,
    /// <summary>The server could not answer (no upstream reachable).</summary>
    ServFail = 2,
    /// <summary>The name does not exist.</summary>
    NxDomain = 3,
    /// <summary>The opcode is not supported.</summary>
    NotImp = 4,
    /// <summary>The server will not answer this.</summary>
    Refused = 5,
}

/// <summary>A query with its one question; <see cref="Question"/> keeps the client's bytes to echo them exactly.</summary>
/// <param name="Header">The query's header.</param>
/// <param name="Name">The question name, dotted, as sent (case kept).</param>
/// <param name="Type">The question type.</param>
/// <param name="Class">The question class (1 = IN).</param>
/// <param name="Question">The question section's bytes.</param>
/// <param name="EdnsUdpSize">The UDP size of the client's OPT record, or null without EDNS.</param>
internal sealed record DnsQuery(DnsHeader Header, string Name, DnsType Type, ushort Class, byte[] Question, int? EdnsUdpSize)
{
    /// <summary>The class of the Internet.</summary>
    public const ushort ClassIn = 1;

    /// <summary>
    /// Reads a query. Throws <see cref="InvalidDataException"/> naming the offset when it is malformed; a message too
    /// short for a header, or a response, is not a query at all (<see cref="IsQuery"/>).
    /// </summary>
    public static DnsQuery Read(ReadOnlySpan<byte> message)
    {
        if (!IsQuery(message)) throw new InvalidDataException($"not a DNS query ({message.Length} bytes)");
        var header = DnsHeader.Read(message);
        if (header.Questions != 1) throw new InvalidDataException($"the query holds {header.Questions} questions; one is expected");
        int offset = DnsHeader.Size;
        var name = DnsName.Read(message, ref offset);
        if (offset + 4 > message.Length) throw new InvalidDataException($"the question's type and class at offset {offset} run past the message");
        var type = (DnsType)BinaryPrimitives.ReadUInt16BigEndian(message[offset..]);
        var klass = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 2)..]);
        offset += 4;
        var question = message[DnsHeader.Size..offset].ToArray();
        int? edns = null;
        for (int i = 0; i < header.Answers + header.Authorities + header.Additionals; i++)
        {
            int at = offset;
            DnsName.Read(message, ref offset);
            if (offset + 10 > message.Length) throw new InvalidDataException($"the record at offset {at} runs past the message");
            var rtype = (DnsType)BinaryPrimitives.ReadUInt16BigEndian(message[offset..]);
            var rclass = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 2)..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 8)..]);
            offset += 10 + length;
            if (offset > message.Length) throw new InvalidDataException($"the data of the record at offset {at} runs past the message");
            // RFC 6891 §6.1.1: the OPT record's class is the sender's UDP payload size; below 512 means 512.
            if (rtype == DnsType.OPT && i >= header.Answers + header.Authorities) edns = Math.Max(512, (int)rclass);
        }
        return new DnsQuery(header, name, type, klass, question, edns);
    }

    /// <summary>Whether <paramref name="message"/> can be a query: a whole header with QR clear.</summary>
    public static bool IsQuery(ReadOnlySpan<byte> message) =>
        message.Length >= DnsHeader.Size && (DnsHeader.Read(message).Flags & DnsHeader.Response) == 0;
}
