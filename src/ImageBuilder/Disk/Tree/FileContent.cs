// Where a file's bytes come from: a host file range, bytes in memory, or zeros; read on demand, never held whole.
using Microsoft.Win32.SafeHandles;
using Appliance.ImageBuilder.IO;

namespace Appliance.ImageBuilder.Disk.Tree;

/// <summary>A byte range of a file that holds data; the bytes outside every range read as zeros.</summary>
public readonly record struct DataRange(long Offset, long Length)
{
    /// <summary>The first offset past the range.</summary>
    public long End => Offset + Length;
}

/// <summary>
/// The content of a regular file. Content is opened and read on demand, so trees far larger than
/// memory can be written. Implementations must return the same bytes every time they are read.
/// </summary>
public abstract class FileContent
{
    /// <summary>The size in bytes.</summary>
    public abstract long Length { get; }

    /// <summary>Opens the content for positional reads; the reader is used by one thread at a time.</summary>
    public abstract IFileContentReader Open();

    /// <summary>
    /// The ranges that may hold non-zero bytes, in order and disjoint. Bytes outside them are zero,
    /// so writers of sparse-capable formats can skip them without reading.
    /// </summary>
    public virtual IReadOnlyList<DataRange> GetDataRanges() => Length == 0 ? [] : [new DataRange(0, Length)];

    /// <summary>Opens the content as a forward-only stream.</summary>
    public Stream OpenRead() => new FileContentStream(Open(), Length);

    /// <summary>Content held in memory (meant for small files such as generated configuration).</summary>
    public static FileContent FromBytes(byte[] bytes) => new MemoryContent(bytes);

    /// <summary>Content held in memory, encoded as UTF-8.</summary>
    public static FileContent FromText(string text) => new MemoryContent(System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// A range of a host file. The file is opened when read, so it must not change meanwhile.
    /// Holes in the host file are reported by <see cref="GetDataRanges"/>.
    /// </summary>
    public static FileContent FromHostFile(string path, long offset = 0, long? length = null)
    {
        long len = length ?? new FileInfo(path).Length - offset;
        return new HostFileContent(Path.GetFullPath(path), offset, len);
    }

    /// <summary>A file of <paramref name="length"/> zero bytes, stored sparsely where the format allows.</summary>
    public static FileContent Zeros(long length) => new ZeroContent(length);
}

/// <summary>Positional reads of one <see cref="FileContent"/>.</summary>
public interface IFileContentReader : IDisposable
{
    /// <summary>Fills <paramref name="buffer"/> with the bytes at <paramref name="offset"/>; throws if the content is shorter.</summary>
    void ReadExactly(long offset, Span<byte> buffer);
}

internal sealed class MemoryContent(byte[] bytes) : FileContent, IFileContentReader
{
    public override long Length => bytes.Length;
    public override IFileContentReader Open() => this;
    public void ReadExactly(long offset, Span<byte> buffer) => bytes.AsSpan(checked((int)offset), buffer.Length).CopyTo(buffer);
    public void Dispose() { }
}

internal sealed class ZeroContent(long length) : FileContent, IFileContentReader
{
    public override long Length => length;
    public override IFileContentReader Open() => this;
    public override IReadOnlyList<DataRange> GetDataRanges() => [];
    public void ReadExactly(long offset, Span<byte> buffer)
    {
        if (offset + buffer.Length > length) throw new EndOfStreamException($"read past the end of a {length}-byte zero file");
        buffer.Clear();
    }
    public void Dispose() { }
}

internal sealed class HostFileContent(string path, long offset, long length) : FileContent
{
    public string HostPath => path;
    public long HostOffset => offset;
    public override long Length => length;

    // A plain open(2) when it works (no advisory lock, no extra fstat); otherwise the BCL's, which reports the error.
    public override IFileContentReader Open() =>
        new Reader(Native.OpenReadOnly(path) ?? File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read), path, offset, length);

    public override IReadOnlyList<DataRange> GetDataRanges()
    {
        if (length == 0) return [];
        using var h = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var ranges = Native.DataRanges(h, offset, length);
        return ranges ?? [new DataRange(0, length)];
    }

    private sealed class Reader(SafeFileHandle handle, string path, long baseOffset, long length) : IFileContentReader
    {
        public void ReadExactly(long offset, Span<byte> buffer)
        {
            if (offset + buffer.Length > length)
                throw new EndOfStreamException($"{path}: read of {buffer.Length} bytes at {offset} is past the end ({length} bytes)");
            while (buffer.Length > 0)
            {
                int n = RandomAccess.Read(handle, buffer, baseOffset + offset);
                if (n <= 0) throw new EndOfStreamException($"{path}: file shrank while being read (at byte {baseOffset + offset})");
                buffer = buffer[n..];
                offset += n;
            }
        }
        public void Dispose() => handle.Dispose();
    }
}

internal sealed class FileContentStream(IFileContentReader reader, long length) : ReadOnlyStream
{
    private long _pos;
    public override long Length => length;
    public override long Position => _pos;
    public override int Read(Span<byte> buffer)
    {
        int n = (int)Math.Min(buffer.Length, length - _pos);
        if (n <= 0) return 0;
        reader.ReadExactly(_pos, buffer[..n]);
        _pos += n;
        return n;
    }
    protected override void Dispose(bool disposing) { if (disposing) reader.Dispose(); base.Dispose(disposing); }
}
