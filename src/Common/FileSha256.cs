// The one SHA-256 of a file (or a byte range of one), streamed, so multi-gigabyte images are never held in memory.
using System.Security.Cryptography;

namespace Appliance.Common;

/// <summary>SHA-256 of files on disk.</summary>
public static class FileSha256
{
    private const int Chunk = 1 << 20;

    /// <summary>The SHA-256 of the whole file at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist (the message names it).</exception>
    /// <exception cref="InvalidDataException">The path is a directory.</exception>
    public static byte[] Hash(string path)
    {
        using var f = Open(path);
        return SHA256.HashData(f);
    }

    /// <summary>The SHA-256 of bytes [<paramref name="offset"/>, <paramref name="offset"/>+<paramref name="length"/>) of the file.</summary>
    /// <exception cref="EndOfStreamException">The file ends before the range does.</exception>
    public static byte[] Hash(string path, long offset, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Check(path);
        using var f = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buf = new byte[(int)Math.Min(Chunk, Math.Max(length, 1))];
        long left = length;
        while (left > 0)
        {
            int n = RandomAccess.Read(f, buf.AsSpan(0, (int)Math.Min(buf.Length, left)), offset + length - left);
            if (n == 0)
                throw new EndOfStreamException($"{path}: ends before offset {offset + length}");
            h.AppendData(buf, 0, n);
            left -= n;
        }
        return h.GetHashAndReset();
    }

    private static FileStream Open(string path)
    {
        Check(path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, Chunk, FileOptions.SequentialScan);
    }

    private static void Check(string path)
    {
        if (Directory.Exists(path))
            throw new InvalidDataException($"{path}: is a directory; expected a file");
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: file not found", path);
    }
}
