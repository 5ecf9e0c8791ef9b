// ECMA-119 9.4: Path Table Record (the L table little-endian, the M table big-endian).
using System.Buffers.Binary;

namespace Appliance.ImageBuilder.Disk.Iso9660;

internal static class PathTable
{
    public static int RecordSize(int idLength) => 8 + idLength + (idLength & 1);

    /// <summary>Writes one record; returns its size.</summary>
    public static int Write(Span<byte> b, ReadOnlySpan<byte> id, uint extent, ushort parent, bool bigEndian)
    {
        int size = RecordSize(id.Length);
        b[..size].Clear();
        b[0] = (byte)id.Length;
        if (bigEndian)
        {
            BinaryPrimitives.WriteUInt32BigEndian(b[2..], extent);
            BinaryPrimitives.WriteUInt16BigEndian(b[6..], parent);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b[2..], extent);
            BinaryPrimitives.WriteUInt16LittleEndian(b[6..], parent);
        }
        id.CopyTo(b[8..]);
        return size;
    }
}
