// UEFI 2.10 §5.3.2: GPT header (92 bytes at the start of LBA 1 and of the last LBA).
using System.Buffers.Binary;
using System.IO.Hashing;

namespace Appliance.Common.Disk.Gpt;

internal sealed record GptHeader
{
    public const ulong SignatureValue = 0x5452415020494645; // "EFI PART"
    public const uint Revision1_0 = 0x00010000;
    public const int Size = 92;

    private static class Off
    {
        public const int Signature = 0, Revision = Signature + 8, HeaderSize = Revision + 4, HeaderCrc = HeaderSize + 4,
            Reserved = HeaderCrc + 4, MyLba = Reserved + 4, AlternateLba = MyLba + 8, FirstUsable = AlternateLba + 8,
            LastUsable = FirstUsable + 8, DiskGuid = LastUsable + 8, EntryLba = DiskGuid + 16, EntryCount = EntryLba + 8,
            EntrySize = EntryCount + 4, EntryArrayCrc = EntrySize + 4, End = EntryArrayCrc + 4;
    }

    public long MyLba { get; init; }
    public long AlternateLba { get; init; }
    public long FirstUsableLba { get; init; }
    public long LastUsableLba { get; init; }
    public Guid DiskGuid { get; init; }
    public long EntryLba { get; init; }
    public int EntryCount { get; init; }
    public int EntrySize { get; init; }
    public uint EntryArrayCrc { get; init; }

    public void WriteTo(Span<byte> b)
    {
        b[..Off.End].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(b[Off.Signature..], SignatureValue);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.Revision..], Revision1_0);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.HeaderSize..], Size);
        BinaryPrimitives.WriteInt64LittleEndian(b[Off.MyLba..], MyLba);
        BinaryPrimitives.WriteInt64LittleEndian(b[Off.AlternateLba..], AlternateLba);
        BinaryPrimitives.WriteInt64LittleEndian(b[Off.FirstUsable..], FirstUsableLba);
        BinaryPrimitives.WriteInt64LittleEndian(b[Off.LastUsable..], LastUsableLba);
        DiskGuid.TryWriteBytes(b[Off.DiskGuid..]);
        BinaryPrimitives.WriteInt64LittleEndian(b[Off.EntryLba..], EntryLba);
        BinaryPrimitives.WriteInt32LittleEndian(b[Off.EntryCount..], EntryCount);
        BinaryPrimitives.WriteInt32LittleEndian(b[Off.EntrySize..], EntrySize);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.EntryArrayCrc..], EntryArrayCrc);
        BinaryPrimitives.WriteUInt32LittleEndian(b[Off.HeaderCrc..], Crc32.HashToUInt32(b[..Size]));
    }

    public static GptHeader Read(ReadOnlySpan<byte> b, long lba)
    {
        ulong sig = BinaryPrimitives.ReadUInt64LittleEndian(b[Off.Signature..]);
        if (sig != SignatureValue)
            throw new InvalidDataException($"GPT header at LBA {lba}: signature 0x{sig:x16} instead of \"EFI PART\"");
        uint hsize = BinaryPrimitives.ReadUInt32LittleEndian(b[Off.HeaderSize..]);
        if (hsize < Size || hsize > 512) throw new InvalidDataException($"GPT header at LBA {lba}: header size {hsize} is not between 92 and 512");
        var copy = b[..(int)hsize].ToArray();
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(copy.AsSpan(Off.HeaderCrc));
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(Off.HeaderCrc), 0);
        uint actual = Crc32.HashToUInt32(copy);
        if (crc != actual) throw new InvalidDataException($"GPT header at LBA {lba}: CRC32 0x{crc:x8}, computed 0x{actual:x8}");
        return new GptHeader
        {
            MyLba = BinaryPrimitives.ReadInt64LittleEndian(b[Off.MyLba..]),
            AlternateLba = BinaryPrimitives.ReadInt64LittleEndian(b[Off.AlternateLba..]),
            FirstUsableLba = BinaryPrimitives.ReadInt64LittleEndian(b[Off.FirstUsable..]),
            LastUsableLba = BinaryPrimitives.ReadInt64LittleEndian(b[Off.LastUsable..]),
            DiskGuid = new Guid(b.Slice(Off.DiskGuid, 16)),
            EntryLba = BinaryPrimitives.ReadInt64LittleEndian(b[Off.EntryLba..]),
            EntryCount = BinaryPrimitives.ReadInt32LittleEndian(b[Off.EntryCount..]),
            EntrySize = BinaryPrimitives.ReadInt32LittleEndian(b[Off.EntrySize..]),
            EntryArrayCrc = BinaryPrimitives.ReadUInt32LittleEndian(b[Off.EntryArrayCrc..]),
        };
    }
}
