// Copies a CRI log file to a stream as kubectl logs shows it: partial records joined, filtered, optionally followed.
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Logs;

/// <summary>
/// Reads one container log file. Following polls the file; a rotation (the path now names another file) is
/// noticed through <c>/proc/self/fd</c>, the rest of the old file is read, then the new file from its start.
/// </summary>
public sealed class CriLogReader
{
    /// <summary>How often a followed file is checked for growth, rotation and the container's end.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Writes the log at <paramref name="path"/> to <paramref name="output"/>. With <see cref="LogOptions.Follow"/> it
    /// returns when <paramref name="stillRunning"/> says the container is gone and the file is read to its end (or on
    /// cancellation). Output is flushed after every block read.
    /// </summary>
    public async Task CopyAsync(string path, LogOptions options, Stream output, Func<bool>? stillRunning, CancellationToken ct)
    {
        var writer = new Writer(output, options);
        var file = Open(path);
        try
        {
            long offset = options.TailLines is { } n ? LogTail.StartOffset(file, n) : 0;
            var buffer = new byte[64 * 1024];
            var pending = new MemoryStream();
            while (!writer.Full)
            {
                int read = await RandomAccess.ReadAsync(file, buffer, offset, ct);
                if (read > 0)
                {
                    offset += read;
                    await writer.LinesAsync(pending, buffer.AsMemory(0, read), ct);
                    await output.FlushAsync(ct);
                    continue;
                }
                if (!options.Follow) break;
                if (Rotated(file, path) && File.Exists(path))
                {
                    // The old file is read to its end (read returned 0); go on with the new one.
                    file.Dispose();
                    file = Open(path);
                    offset = 0;
                    continue;
                }
                if (stillRunning is not null && !stillRunning())
                {
                    // One more look: the container may have written its last lines before it ended.
                    if (RandomAccess.GetLength(file) > offset) continue;
                    break;
                }
                await Task.Delay(PollInterval, ct);
            }
            if (pending.Length > 0 && !options.Follow) await writer.LineAsync(pending.ToArray(), ct);
            await output.FlushAsync(ct);
        }
        finally
        {
            file.Dispose();
        }
    }

    static SafeFileHandle Open(string path) =>
        File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous);

    /// <summary>True when <paramref name="path"/> no longer names the open file (renamed away or deleted).</summary>
    static bool Rotated(SafeFileHandle file, string path)
    {
        var target = new FileInfo($"/proc/self/fd/{file.DangerousGetHandle()}").LinkTarget;
        return target is null || target != Path.GetFullPath(path);
    }

    /// <summary>Turns records into output lines, honouring since, timestamps and limitBytes.</summary>
    sealed class Writer(Stream output, LogOptions options)
    {
        bool _inLine; // a P record was written, so the next record continues its line
        long _written;
        static readonly byte[] Newline = "\n"u8.ToArray();

        public bool Full => options.LimitBytes is { } limit && _written >= limit;

        public async Task LinesAsync(MemoryStream pending, ReadOnlyMemory<byte> data, CancellationToken ct)
        {
            while (!data.IsEmpty && !Full)
            {
                int nl = data.Span.IndexOf((byte)'\n');
                if (nl < 0)
                {
                    pending.Write(data.Span);
                    return;
                }
                ReadOnlyMemory<byte> line;
                if (pending.Length > 0)
                {
                    pending.Write(data.Span[..nl]);
                    line = pending.ToArray();
                    pending.SetLength(0);
                }
                else line = data[..nl];
                data = data[(nl + 1)..];
                await LineAsync(line, ct);
            }
        }

        public async Task LineAsync(ReadOnlyMemory<byte> line, CancellationToken ct)
        {
            var record = CriLogRecord.Parse(line);
            if (record is null) return; // not CRI format: upstream skips such lines too
            if (options.Since is { } since && record.Time < since) return;
            if (options.Timestamps && !_inLine) await WriteAsync(Encoding.ASCII.GetBytes(record.TimestampText + " "), ct);
            await WriteAsync(record.Content, ct);
            if (!record.Partial) await WriteAsync(Newline, ct);
            _inLine = record.Partial;
        }

        async Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken ct)
        {
            if (options.LimitBytes is { } limit && _written + bytes.Length > limit) bytes = bytes[..(int)(limit - _written)];
            if (bytes.IsEmpty) return;
            await output.WriteAsync(bytes, ct);
            _written += bytes.Length;
        }
    }
}
