// SPDY/3 §2.2: the 8-byte frame header (control and data frames) and the control frame types used here.
using System.Buffers.Binary;

namespace Appliance.ClusterRuntime.Spdy;

/// <summary>
/// A frame's first 8 bytes. Control frames: 1 bit set, 15-bit version (3), 16-bit type; data frames: 1 bit clear,
/// 31-bit stream id. Then 8 bits of flags and a 24-bit payload length.
/// </summary>
internal readonly record struct SpdyFrame(bool IsControl, ushort Type, uint StreamId, byte Flags, int Length)
{
    /// <summary>The header's size.</summary>
    public const int HeaderLength = 8;

    /// <summary>The protocol version carried by control frames.</summary>
    public const ushort Version = 3;

    /// <summary>Control frame types (SPDY/3 §2.6).</summary>
    public const ushort SynStream = 1, SynReply = 2, RstStream = 3, Settings = 4, Ping = 6, GoAway = 7, Headers = 8, WindowUpdate = 9;

    /// <summary>FLAG_FIN: the sender's last frame on the stream.</summary>
    public const byte FlagFin = 0x01;

    /// <summary>RST_STREAM status codes (§2.6.3) used here.</summary>
    public const uint ProtocolError = 1, InvalidStream = 2, Cancel = 5;

    /// <summary>The largest payload the 24-bit length allows.</summary>
    public const int MaxLength = 0xFFFFFF;

    /// <summary>Reads a frame header.</summary>
    public static SpdyFrame Read(ReadOnlySpan<byte> b)
    {
        var first = BinaryPrimitives.ReadUInt32BigEndian(b);
        var length = (int)(BinaryPrimitives.ReadUInt32BigEndian(b[4..]) & 0xFFFFFF);
        var flags = b[4];
        if ((first & 0x80000000) == 0) return new SpdyFrame(false, 0, first, flags, length);
        var version = (ushort)((first >> 16) & 0x7FFF);
        if (version != Version) throw new InvalidDataException($"SPDY control frame of version {version}, expected {Version}");
        return new SpdyFrame(true, (ushort)(first & 0xFFFF), 0, flags, length);
    }

    /// <summary>Writes this header into <paramref name="b"/>.</summary>
    public void WriteTo(Span<byte> b)
    {
        var first = IsControl ? 0x80000000u | ((uint)Version << 16) | Type : StreamId & 0x7FFFFFFF;
        BinaryPrimitives.WriteUInt32BigEndian(b, first);
        BinaryPrimitives.WriteUInt32BigEndian(b[4..], ((uint)Flags << 24) | (uint)Length);
    }

    /// <summary>A whole control frame: header then payload.</summary>
    public static byte[] Control(ushort type, byte flags, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[HeaderLength + payload.Length];
        new SpdyFrame(true, type, 0, flags, payload.Length).WriteTo(frame);
        payload.CopyTo(frame.AsSpan(HeaderLength));
        return frame;
    }

    /// <summary>A whole data frame.</summary>
    public static byte[] Data(uint streamId, byte flags, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[HeaderLength + payload.Length];
        new SpdyFrame(false, 0, streamId, flags, payload.Length).WriteTo(frame);
        payload.CopyTo(frame.AsSpan(HeaderLength));
        return frame;
    }
}
