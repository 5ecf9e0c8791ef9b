// One SPDY stream of a session: its SYN_STREAM headers, the data received (until FIN), and the data sent.
using System.Threading.Channels;

namespace Appliance.ClusterRuntime.Spdy;

/// <summary>
/// A stream the peer opened. Received DATA is queued (SPDY/3.1 flow control is not done: kubectl's spdystream does
/// not do it either) and read with <see cref="ReadAsync"/>; <see cref="WriteAsync"/> sends DATA frames,
/// <see cref="CloseAsync"/> a FIN (half-close), <see cref="ResetAsync"/> an RST_STREAM.
/// </summary>
public sealed class SpdyStream
{
    readonly SpdyConnection _connection;
    readonly Channel<byte[]> _received = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    readonly CancellationTokenSource _reset = new();
    byte[] _pending = [];
    int _pendingAt;
    int _closed;

    internal SpdyStream(SpdyConnection connection, uint id, IReadOnlyDictionary<string, string> headers)
    {
        _connection = connection;
        Id = id;
        Headers = headers;
    }

    /// <summary>The stream id.</summary>
    public uint Id { get; }

    /// <summary>The SYN_STREAM headers (names lower case).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    /// <summary>Cancelled when either side reset the stream or the session ended.</summary>
    public CancellationToken Reset => _reset.Token;

    /// <summary>Reads received data; 0 once the peer sent FIN (or reset the stream).</summary>
    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct)
    {
        if (_pendingAt == _pending.Length)
        {
            try
            {
                if (!await _received.Reader.WaitToReadAsync(ct)) return 0;
            }
            catch (ChannelClosedException)
            {
                return 0;
            }
            if (!_received.Reader.TryRead(out var next)) return 0;
            _pending = next;
            _pendingAt = 0;
        }
        var n = Math.Min(buffer.Length, _pending.Length - _pendingAt);
        _pending.AsMemory(_pendingAt, n).CopyTo(buffer);
        _pendingAt += n;
        return n;
    }

    /// <summary>Sends data (split into frames the 24-bit length allows).</summary>
    public async Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        const int chunk = 64 * 1024;
        for (var at = 0; at < data.Length; at += chunk)
            await _connection.SendAsync(SpdyFrame.Data(Id, 0, data.Span.Slice(at, Math.Min(chunk, data.Length - at))), ct);
    }

    /// <summary>Sends FIN once: nothing more will be sent on this stream.</summary>
    public async Task CloseAsync(CancellationToken ct)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0 || _reset.IsCancellationRequested) return;
        await _connection.SendAsync(SpdyFrame.Data(Id, SpdyFrame.FlagFin, []), ct);
    }

    /// <summary>Sends RST_STREAM (CANCEL) and ends both directions.</summary>
    public async Task ResetAsync(CancellationToken ct)
    {
        if (_reset.IsCancellationRequested) return;
        Ended();
        await _connection.ResetAsync(Id, SpdyFrame.Cancel, ct);
    }

    internal void Received(byte[] data) => _received.Writer.TryWrite(data);

    internal void ReceivedFin() => _received.Writer.TryComplete();

    /// <summary>The peer reset the stream, or the session ended.</summary>
    internal void Ended()
    {
        _received.Writer.TryComplete();
        try { _reset.Cancel(); } catch (ObjectDisposedException) { }
    }
}
