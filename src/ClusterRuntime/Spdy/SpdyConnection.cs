// SPDY/3.1 session over a byte stream: accepts the peer's streams (server) or opens streams (client), answers pings, sends frames under one lock.
using System.Buffers.Binary;
using System.Collections.Concurrent;

namespace Appliance.ClusterRuntime.Spdy;

/// <summary>
/// Reads frames until the transport ends or GOAWAY. Each SYN_STREAM is answered at once with an empty SYN_REPLY (the
/// peer's CreateStream waits for it) and handed to the stream handler. PING is echoed; SETTINGS and WINDOW_UPDATE
/// are read and ignored; HEADERS blocks are inflated (to keep the shared zlib context in step) and dropped. As a
/// client (no stream handler) it opens streams with odd ids and waits for each SYN_REPLY; streams the peer opens are
/// refused.
/// </summary>
public sealed class SpdyConnection : IAsyncDisposable
{
    readonly Stream _transport;
    readonly Func<SpdyStream, Task>? _onStream;
    readonly ConcurrentDictionary<uint, TaskCompletionSource> _replies = new();
    uint _nextOwn = 1;
    readonly SemaphoreSlim _write = new(1, 1);
    readonly HeaderZlib _inflate = HeaderZlib.ForInflate();
    readonly HeaderZlib _deflate = HeaderZlib.ForDeflate();
    readonly ConcurrentDictionary<uint, SpdyStream> _streams = new();
    readonly List<Task> _handlers = [];
    uint _lastStream;

    /// <summary>A session on <paramref name="transport"/>; <paramref name="onStream"/> runs for each stream the peer opens (null: a client).</summary>
    public SpdyConnection(Stream transport, Func<SpdyStream, Task>? onStream)
    {
        _transport = transport;
        _onStream = onStream;
    }

    /// <summary>Serves the session until the peer goes away; then every stream is ended and its handler awaited.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var header = new byte[SpdyFrame.HeaderLength];
        try
        {
            while (true)
            {
                if (!await ReadExactlyAsync(header, ct)) break;
                var frame = SpdyFrame.Read(header);
                var payload = new byte[frame.Length];
                if (!await ReadExactlyAsync(payload, ct)) break;
                if (!frame.IsControl)
                {
                    if (_streams.TryGetValue(frame.StreamId, out var s))
                    {
                        if (payload.Length > 0) s.Received(payload);
                        if ((frame.Flags & SpdyFrame.FlagFin) != 0) s.ReceivedFin();
                    }
                    continue;
                }
                if (frame.Type == SpdyFrame.GoAway) break;
                await ControlAsync(frame, payload, ct);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or System.Net.WebSockets.WebSocketException or InvalidDataException or ObjectDisposedException)
        {
            // The transport went away, or the peer broke the framing (its GOAWAY comes with the disposal): the streams end below.
        }
        foreach (var s in _streams.Values) s.Ended();
        foreach (var r in _replies.Values) r.TrySetException(new IOException("the SPDY session ended before the stream was answered"));
        Task[] handlers;
        lock (_handlers) handlers = [.. _handlers];
        await Task.WhenAll(handlers);
    }

    async Task ControlAsync(SpdyFrame frame, byte[] p, CancellationToken ct)
    {
        switch (frame.Type)
        {
            case SpdyFrame.SynStream:
            {
                // §2.6.1: stream id, associated stream id, priority and slot, then the header block.
                if (p.Length < 10) throw new InvalidDataException($"SYN_STREAM of {p.Length} bytes, expected at least 10");
                var id = BinaryPrimitives.ReadUInt32BigEndian(p) & 0x7FFFFFFF;
                var headers = HeaderBlock.Decode(_inflate.Inflate(p.AsSpan(10)));
                if (_onStream is null || id <= _lastStream || id % 2 == 0)
                {
                    await ResetAsync(id, SpdyFrame.ProtocolError, ct);
                    return;
                }
                _lastStream = id;
                var stream = new SpdyStream(this, id, headers);
                _streams[id] = stream;
                if ((frame.Flags & SpdyFrame.FlagFin) != 0) stream.ReceivedFin();
                await ReplyAsync(id, ct);
                var handler = Task.Run(async () =>
                {
                    try { await _onStream!(stream); }
                    finally { _streams.TryRemove(id, out _); }
                }, CancellationToken.None);
                lock (_handlers)
                {
                    _handlers.RemoveAll(t => t.IsCompleted);
                    _handlers.Add(handler);
                }
                break;
            }
            case SpdyFrame.RstStream:
                if (p.Length < 8) break;
                var resetId = BinaryPrimitives.ReadUInt32BigEndian(p) & 0x7FFFFFFF;
                if (_streams.TryGetValue(resetId, out var reset)) reset.Ended();
                if (_replies.TryRemove(resetId, out var refused)) refused.TrySetException(new IOException($"the peer refused stream {resetId} (status {BinaryPrimitives.ReadUInt32BigEndian(p.AsSpan(4))})"));
                break;
            case SpdyFrame.SynReply:
                if (p.Length < 4) break;
                _inflate.Inflate(p.AsSpan(4));
                if (_replies.TryRemove(BinaryPrimitives.ReadUInt32BigEndian(p) & 0x7FFFFFFF, out var answered)) answered.TrySetResult();
                break;
            case SpdyFrame.Ping:
                // §2.6.5: a ping the peer started (odd id from a client) is echoed unchanged.
                await SendAsync(SpdyFrame.Control(SpdyFrame.Ping, 0, p), ct);
                break;
            case SpdyFrame.Headers:
                if (p.Length > 4) _inflate.Inflate(p.AsSpan(4));
                break;
        }
    }

    /// <summary>Opens a stream with <paramref name="headers"/> (client side) and waits for the peer's SYN_REPLY.</summary>
    public async Task<SpdyStream> OpenStreamAsync(IReadOnlyDictionary<string, string> headers, CancellationToken ct)
    {
        var reply = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        SpdyStream stream;
        await _write.WaitAsync(ct);
        try
        {
            var id = _nextOwn;
            _nextOwn += 2;
            stream = new SpdyStream(this, id, headers);
            _streams[id] = stream;
            _replies[id] = reply;
            // §2.6.1: stream id, associated stream id 0, priority 0 and slot 0, then the header block.
            await WriteHeadersFrameAsync(SpdyFrame.SynStream, id, 10, headers, ct);
        }
        finally
        {
            _write.Release();
        }
        await reply.Task.WaitAsync(ct);
        return stream;
    }

    async Task ReplyAsync(uint id, CancellationToken ct)
    {
        // §2.6.2: the stream id, then a header block (empty here).
        await _write.WaitAsync(ct);
        try
        {
            await WriteHeadersFrameAsync(SpdyFrame.SynReply, id, 4, new Dictionary<string, string>(), ct);
        }
        finally
        {
            _write.Release();
        }
    }

    /// <summary>A control frame whose payload is the stream id, zeros up to <paramref name="prefix"/> bytes, then a header block; under the write lock.</summary>
    async Task WriteHeadersFrameAsync(ushort type, uint id, int prefix, IReadOnlyDictionary<string, string> headers, CancellationToken ct)
    {
        var block = _deflate.Deflate(HeaderBlock.Encode(headers));
        var payload = new byte[prefix + block.Length];
        BinaryPrimitives.WriteUInt32BigEndian(payload, id);
        block.CopyTo(payload, prefix);
        // Compressed blocks must reach the wire in the order they were compressed: sent under the same lock.
        await _transport.WriteAsync(SpdyFrame.Control(type, 0, payload), ct);
        await _transport.FlushAsync(ct);
    }

    internal async Task ResetAsync(uint id, uint status, CancellationToken ct)
    {
        var payload = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(payload, id);
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(4), status);
        await SendAsync(SpdyFrame.Control(SpdyFrame.RstStream, 0, payload), ct);
    }

    internal async Task SendAsync(byte[] frame, CancellationToken ct)
    {
        await _write.WaitAsync(ct);
        try
        {
            await _transport.WriteAsync(frame, ct);
            await _transport.FlushAsync(ct);
        }
        finally
        {
            _write.Release();
        }
    }

    async Task<bool> ReadExactlyAsync(byte[] buffer, CancellationToken ct)
    {
        var at = 0;
        while (at < buffer.Length)
        {
            var n = await _transport.ReadAsync(buffer.AsMemory(at), ct);
            if (n == 0) return false;
            at += n;
        }
        return true;
    }

    /// <summary>Sends GOAWAY (best effort) and frees the zlib contexts.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            var payload = new byte[8];
            BinaryPrimitives.WriteUInt32BigEndian(payload, _lastStream);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await SendAsync(SpdyFrame.Control(SpdyFrame.GoAway, 0, payload), timeout.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or System.Net.WebSockets.WebSocketException) { }
        _inflate.Dispose();
        _deflate.Dispose();
    }
}
