// ECMA-119 9.1: Directory Record (33 bytes, the file identifier, a pad byte, then the system use area).
namespace Appliance.ImageBuilder.Disk.Iso9660;

internal static class DirectoryRecord
{
    public const int FixedSize = 33, MaxSize = 255;
    public const byte FlagDirectory = 0x02, FlagMultiExtent = 0x80;

    private static class Off
    {
        public const int Length = 0, ExtAttrLength = Length + 1, Extent = ExtAttrLength + 1, DataLength = Extent + 8,
            Date = DataLength + 8, Flags = Date + IsoDate.RecordingSize, UnitSize = Flags + 1, Gap = UnitSize + 1,
            VolumeSeq = Gap + 1, IdLength = VolumeSeq + 4, Id = IdLength + 1;
    }

    /// <summary>The bytes before the system use area: 33, the identifier, and a pad byte when the identifier's length is even.</summary>
    public static int HeaderSize(int idLength) => FixedSize + idLength + (idLength % 2 == 0 ? 1 : 0);

    /// <summary>The whole record length, kept even (9.1.1 records start at even offsets in practice; readers expect it).</summary>
    public static int Size(int idLength, int suspLength)
    {
        int n = HeaderSize(idLength) + suspLength;
        return n + (n & 1);
    }

    /// <summary>Writes the record's header into <paramref name="b"/> (which is <see cref="Size"/> bytes); returns where the system use area starts.</summary>
    public static int Write(Span<byte> b, int size, ReadOnlySpan<byte> id, uint extent, uint dataLength, long mtime, byte flags)
    {
        b[..size].Clear();
        b[Off.Length] = (byte)size;
        IsoBytes.Both32(b[Off.Extent..], extent);
        IsoBytes.Both32(b[Off.DataLength..], dataLength);
        IsoDate.WriteRecording(mtime, b[Off.Date..]);
        b[Off.Flags] = flags;
        IsoBytes.Both16(b[Off.VolumeSeq..], 1);
        b[Off.IdLength] = (byte)id.Length;
        id.CopyTo(b[Off.Id..]);
        return HeaderSize(id.Length);
    }
}
