// RFC 1035 §4.1.1: the 12-byte message header (RFC 6895 §2 for the flag bits' names).
using System.Buffers.Binary;

namespace Appliance.ClusterRuntime.Agent.ClusterDns;

/// <summary>A DNS message header: ID, flag bits and the four section counts.</summary>
internal readonly record struct DnsHeader(ushort Id, ushort Flags, ushort Questions, ushort Answers, ushort Authorities, ushort Additionals)
{
    const int IdLength = 2, FlagsLength = 2, CountLength = 2;
    const int FlagsAt = IdLength, QuestionsAt = FlagsAt + FlagsLength, AnswersAt = QuestionsAt + CountLength,
        AuthoritiesAt = AnswersAt + CountLength, AdditionalsAt = AuthoritiesAt + CountLength;

    /// <summary>Bytes on the wire.</summary>
    public const int Size = AdditionalsAt + CountLength;

    /// <summary>QR: the message is a response.</summary>
    public const ushort Response = 0x8000;
    /// <summary>AA: the answer comes from the zone's own data.</summary>
    public const ushort Authoritative = 0x0400;
    /// <summary>TC: cut to fit a UDP datagram; the client retries over TCP.</summary>
    public const ushort Truncated = 0x0200;
    /// <summary>RD: the client asked for recursion.</summary>
    public const ushort RecursionDesired = 0x0100;
    /// <summary>RA: this server recurses (forwards).</summary>
    public const ushort RecursionAvailable = 0x0080;
    /// <summary>CD: the client checks signatures itself (echoed).</summary>
    public const ushort CheckingDisabled = 0x0010;

    /// <summary>The opcode (0 = standard query).</summary>
    public int Opcode => (Flags >> 11) & 0xF;

    /// <summary>Reads a header; <paramref name="message"/> must hold at least <see cref="Size"/> bytes.</summary>
    public static DnsHeader Read(ReadOnlySpan<byte> message) => new(
        BinaryPrimitives.ReadUInt16BigEndian(message),
        BinaryPrimitives.ReadUInt16BigEndian(message[FlagsAt..]),
        BinaryPrimitives.ReadUInt16BigEndian(message[QuestionsAt..]),
        BinaryPrimitives.ReadUInt16BigEndian(message[AnswersAt..]),
        BinaryPrimitives.ReadUInt16BigEndian(message[AuthoritiesAt..]),
        BinaryPrimitives.ReadUInt16BigEndian(message[AdditionalsAt..]));

    /// <summary>Writes the header into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, Id);
        BinaryPrimitives.WriteUInt16BigEndian(destination[FlagsAt..], Flags);
        BinaryPrimitives.WriteUInt16BigEndian(destination[QuestionsAt..], Questions);
        BinaryPrimitives.WriteUInt16BigEndian(destination[AnswersAt..], Answers);
        BinaryPrimitives.WriteUInt16BigEndian(destination[AuthoritiesAt..], Authorities);
        BinaryPrimitives.WriteUInt16BigEndian(destination[AdditionalsAt..], Additionals);
    }
}
