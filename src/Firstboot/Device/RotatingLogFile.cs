// An append-only log file on the data partition that rotates by size: NAME, NAME.1, ... NAME.KEEP.
using System.Text;

namespace Appliance.Firstboot.Device;

/// <summary>
/// Appends to <see cref="Path"/>; once it reaches <see cref="MaxBytes"/> it is renamed to <c>NAME.1</c> (older ones
/// move up to <c>NAME.KEEP</c>, the oldest is deleted) and a new file is begun. Rotation happens between writes, so
/// a child's output chunk is never split across two files. Thread-safe. Not fsynced: a power cut may lose the last
/// lines, never the file.
/// </summary>
public sealed class RotatingLogFile : IDisposable
{
    private readonly object _gate = new();
    private FileStream? _stream;

    /// <summary>Opens (creating its directory) <paramref name="path"/> for appending.</summary>
    public RotatingLogFile(string path, long maxBytes = 10 << 20, int keep = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        Path = System.IO.Path.GetFullPath(path);
        MaxBytes = maxBytes;
        Keep = keep;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
    }

    /// <summary>The current file.</summary>
    public string Path { get; }

    /// <summary>The size at which the file is rotated.</summary>
    public long MaxBytes { get; }

    /// <summary>How many rotated files are kept.</summary>
    public int Keep { get; }

    /// <summary>Appends <paramref name="bytes"/> as they are (a child's raw output).</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            var s = _stream ??= Open();
            if (s.Length > 0 && s.Length + bytes.Length > MaxBytes)
            {
                Rotate();
                s = _stream = Open();
            }
            s.Write(bytes);
            s.Flush();
        }
    }

    /// <summary>Appends one line, stamped with the UTC time (the supervisor's own lines).</summary>
    public void AppendLine(string line) =>
        Append(Encoding.UTF8.GetBytes($"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {line}\n"));

    private FileStream Open() => new(Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);

    private void Rotate()
    {
        _stream?.Dispose();
        _stream = null;
        File.Delete($"{Path}.{Keep}");
        for (int i = Keep - 1; i >= 1; i--)
            if (File.Exists($"{Path}.{i}")) File.Move($"{Path}.{i}", $"{Path}.{i + 1}");
        File.Move(Path, $"{Path}.1");
    }

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stream?.Dispose();
            _stream = null;
        }
    }
}
