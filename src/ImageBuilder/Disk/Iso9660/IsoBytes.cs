// ECMA-119 7.2–7.3 numerical values (both-byte orders) and 7.4 padded character fields.
using System.Buffers.Binary;
using System.Text;

namespace Appliance.ImageBuilder.Disk.Iso9660;

internal static class IsoBytes
{
    /// <summary>7.3.3: 32-bit little-endian then big-endian (8 bytes).</summary>
    public static void Both32(Span<byte> b, uint v)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        BinaryPrimitives.WriteUInt32BigEndian(b[4..], v);
    }

    /// <summary>7.2.3: 16-bit little-endian then big-endian (4 bytes).</summary>
    public static void Both16(Span<byte> b, ushort v)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        BinaryPrimitives.WriteUInt16BigEndian(b[2..], v);
    }

    /// <summary>A character field padded with spaces (8.4.5 and the other identifier fields).</summary>
    public static void Text(Span<byte> field, string s)
    {
        field.Fill((byte)' ');
        Encoding.ASCII.GetBytes(s.AsSpan(0, Math.Min(s.Length, field.Length)), field);
    }
}
