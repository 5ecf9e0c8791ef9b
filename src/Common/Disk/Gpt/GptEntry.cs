// UEFI 2.10 §5.3.3: GPT partition entry (128 bytes).
using System.Buffers.Binary;
using System.Text;

namespace Appliance.Common.Disk.Gpt;

internal static class GptEntry
{
    public const int Size = 128;
    public const int NameChars = 36;

    private static class Off
    {
        public const int Type = 0, Id = Type + 16, FirstLba = Id + 16, LastLba = FirstLba + 8, Attributes = LastLba + 8,
            Name = Attributes + 8, End = Name + NameChars * 2;
    }

    public static void WriteTo(GptPartition p, Span<byte> b)
    {
        b[..Off.End].Clear();
        p.Type.TryWriteBytes(b[Off.Type..]);
        p.Id.TryWriteBytes(b[Off.Id..]);
        BinaryPrimitives.WriteInt64LittleEndian(b[Off.FirstLba..], p.FirstLba);
        BinaryPrimitives.WriteInt64LittleEndian(b[Off.LastLba..], p.LastLba);
        BinaryPrimitives.WriteUInt64LittleEndian(b[Off.Attributes..], p.Attributes);
        Encoding.Unicode.GetBytes(p.Name, b.Slice(Off.Name, NameChars * 2));
    }

    /// <summary>Reads an entry; returns null for an unused entry (type GUID all zero).</summary>
    public static GptPartition? Read(ReadOnlySpan<byte> b)
    {
        var type = new Guid(b.Slice(Off.Type, 16));
        if (type == Guid.Empty) return null;
        var name = Encoding.Unicode.GetString(b.Slice(Off.Name, NameChars * 2));
        int z = name.IndexOf('\0');
        return new GptPartition(type, new Guid(b.Slice(Off.Id, 16)),
            BinaryPrimitives.ReadInt64LittleEndian(b[Off.FirstLba..]),
            BinaryPrimitives.ReadInt64LittleEndian(b[Off.LastLba..]),
            z >= 0 ? name[..z] : name,
            BinaryPrimitives.ReadUInt64LittleEndian(b[Off.Attributes..]));
    }
}
