// Finds where the last N lines of a CRI log file begin by reading it backwards, block by block.
using Microsoft.Win32.SafeHandles;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Logs;

/// <summary>Backward search for <c>tailLines</c>: only the file's end is read, however large the file.</summary>
public static class LogTail
{
    const int BlockSize = 64 * 1024;

    /// <summary>
    /// The offset of the first record of the last <paramref name="lines"/> complete lines of the file. A line is one
    /// <c>F</c> record with the <c>P</c> records before it; a record still being written (no newline yet) is after
    /// the returned offset and is read as well.
    /// </summary>
    public static long StartOffset(SafeFileHandle file, long lines)
    {
        long length = RandomAccess.GetLength(file);
        var block = new byte[BlockSize];
        var tag = new byte[128];
        long fullLines = 0;
        long recordEnd = -1; // offset of the newline ending the record after the one being looked for
        long pos = length;
        while (pos > 0)
        {
            int size = (int)Math.Min(BlockSize, pos);
            pos -= size;
            ReadExactly(file, block.AsSpan(0, size), pos);
            for (int i = size - 1; i >= 0; i--)
            {
                if (block[i] != (byte)'\n') continue;
                long newline = pos + i;
                if (recordEnd >= 0 && IsFull(file, tag, newline + 1) && ++fullLines > lines) return recordEnd + 1;
                recordEnd = newline;
                if (lines == 0) return recordEnd + 1;
            }
        }
        if (recordEnd >= 0 && IsFull(file, tag, 0) && ++fullLines > lines) return recordEnd + 1;
        return 0;
    }

    /// <summary>Whether the record at <paramref name="offset"/> ends a line (an <c>F</c> or untagged record).</summary>
    static bool IsFull(SafeFileHandle file, byte[] buffer, long offset)
    {
        int n = RandomAccess.Read(file, buffer, offset);
        int nl = buffer.AsSpan(0, n).IndexOf((byte)'\n');
        var record = CriLogRecord.Parse(buffer.AsMemory(0, nl >= 0 ? nl : n));
        return record is null || !record.Partial;
    }

    static void ReadExactly(SafeFileHandle file, Span<byte> buffer, long offset)
    {
        while (buffer.Length > 0)
        {
            int n = RandomAccess.Read(file, buffer, offset);
            if (n == 0) throw new EndOfStreamException("the log file shrank while its tail was read");
            buffer = buffer[n..];
            offset += n;
        }
    }
}
