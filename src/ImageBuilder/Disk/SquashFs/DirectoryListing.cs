// SquashFS directory table: a listing is runs of a 12-byte header followed by 8-byte entries plus names.
using System.Buffers.Binary;
using System.Text;

namespace Appliance.ImageBuilder.Disk.SquashFs;

/// <summary>One name in a directory listing, pointing at an inode.</summary>
internal readonly record struct DirectoryEntry(string Name, uint InodeBlock, ushort InodeOffset, uint InodeNumber, InodeType BasicType);

internal static class DirectoryListing
{
    public const int HeaderSize = 12, EntrySize = 8, MaxRun = 256;

    /// <summary>
    /// Writes the entries (already in name order) and returns the listing size. A run of entries shares a header, so a
    /// new header starts when the inode block changes, the inode number delta leaves the int16 range, 256 entries are
    /// reached, or the run would pass one metadata block of listing (as mksquashfs does, for the directory index).
    /// </summary>
    public static int Write(MetadataWriter w, IReadOnlyList<DirectoryEntry> entries)
    {
        int total = 0, i = 0;
        Span<byte> h = stackalloc byte[HeaderSize];
        Span<byte> e = stackalloc byte[EntrySize];
        while (i < entries.Count)
        {
            var first = entries[i];
            int j = i, runBytes = HeaderSize;
            while (j < entries.Count && j - i < MaxRun)
            {
                var c = entries[j];
                int size = EntrySize + Encoding.UTF8.GetByteCount(c.Name);
                long delta = (long)c.InodeNumber - first.InodeNumber;
                if (c.InodeBlock != first.InodeBlock || delta < short.MinValue || delta > short.MaxValue) break;
                if (j > i && runBytes + size > MetadataWriter.BlockSize) break;
                runBytes += size;
                j++;
            }
            BinaryPrimitives.WriteUInt32LittleEndian(h, (uint)(j - i - 1));
            BinaryPrimitives.WriteUInt32LittleEndian(h[4..], first.InodeBlock);
            BinaryPrimitives.WriteUInt32LittleEndian(h[8..], first.InodeNumber);
            w.Write(h);
            for (int k = i; k < j; k++)
            {
                var c = entries[k];
                var name = Encoding.UTF8.GetBytes(c.Name);
                BinaryPrimitives.WriteUInt16LittleEndian(e, c.InodeOffset);
                BinaryPrimitives.WriteInt16LittleEndian(e[2..], (short)((long)c.InodeNumber - first.InodeNumber));
                BinaryPrimitives.WriteUInt16LittleEndian(e[4..], (ushort)c.BasicType);
                BinaryPrimitives.WriteUInt16LittleEndian(e[6..], (ushort)(name.Length - 1));
                w.Write(e);
                w.Write(name);
            }
            total += runBytes;
            i = j;
        }
        return total;
    }

    /// <summary>Reads a listing of <paramref name="size"/> bytes (the inode's file_size minus 3).</summary>
    public static List<DirectoryEntry> Read(MetadataReader r, long size)
    {
        var list = new List<DirectoryEntry>();
        long done = 0;
        while (done < size)
        {
            uint count = r.U32() + 1, block = r.U32(), number = r.U32();
            done += HeaderSize;
            if (count > MaxRun) throw new InvalidDataException($"squashfs directory header claims {count} entries (at most {MaxRun})");
            for (uint k = 0; k < count; k++)
            {
                ushort off = r.U16();
                short delta = r.I16();
                var type = (InodeType)r.U16();
                int nameLen = r.U16() + 1;
                var name = Encoding.UTF8.GetString(r.ReadBytes(nameLen));
                list.Add(new DirectoryEntry(name, block, off, (uint)(number + delta), type));
                done += EntrySize + nameLen;
            }
        }
        return list;
    }
}
