// GET /api/v1/namespaces/{ns}/pods/{name}/portforward: kubectl's SPDY session (tunnelled in WebSocket), one kubelet WebSocket per connection.
using System.Net.WebSockets;
using System.Text;
using Appliance.ClusterRuntime.Agent.KubeletApi;
using Appliance.ClusterRuntime.Api.PodLogs;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Spdy;
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Api.PodExec;

/// <summary>
/// The pods/portforward subresource. kubectl 1.31+ sends SPDY/3.1 frames inside WebSocket binary messages
/// (subprotocol <c>SPDY/3.1+portforward.k8s.io</c>); this side ends the SPDY session. For each forwarded connection
/// kubectl opens an error stream and a data stream with the same <c>requestid</c> and the pod <c>port</c>; the pair
/// gets its own WebSocket to the kubelet's <c>/portForward/{ns}/{pod}?port=N</c> (upstream's WebSocket port-forward
/// protocol: channel 0 data, 1 error, each starting with the port). Kubelet errors go to the error stream, which
/// kubectl prints.
/// </summary>
public sealed class PodPortForward
{
    /// <summary>The subprotocol kubectl asks for: SPDY tunnelled in WebSocket (KEP-4006).</summary>
    public const string TunnelProtocol = "SPDY/3.1+portforward.k8s.io";

    readonly ObjectStore _store;
    readonly PodExecProxy _dialer;

    internal PodPortForward(ObjectStore store, PodExecProxy dialer)
    {
        _store = store;
        _dialer = dialer;
    }

    /// <summary>Serves one port-forward session; errors before the upgrade are thrown as <see cref="ApiException"/>.</summary>
    public async Task ServeAsync(HttpContext ctx, string ns, string name)
    {
        // upstream's PortForwardOptions: optional ?ports=, each a valid port.
        foreach (var p in ctx.Request.Query["ports"].SelectMany(v => (v ?? "").Split(',')))
            if (!ushort.TryParse(p, out var port) || port == 0) throw ApiException.BadRequest($"invalid port \"{p}\": ports must be 1-65535");
        var target = await KubeletTarget.FindAsync(_store, ns, name, null, ctx.RequestAborted);
        if (!RemoteCommand.IsUpgrade(ctx) || !RemoteCommand.Offered(ctx.Request).Contains(TunnelProtocol))
            throw ApiException.BadRequest($"port-forward is served over WebSocket with subprotocol {TunnelProtocol} only (kubectl 1.31+); plain SPDY is not supported");
        using var socket = await RemoteCommand.AcceptAsync(ctx, TunnelProtocol);
        await using var transport = WebSocketStream.Create(socket, WebSocketMessageType.Binary, ownsWebSocket: false);
        var pairs = new Dictionary<string, (SpdyStream? Error, SpdyStream? Data, TaskCompletionSource<SpdyStream> DataReady)>();
        var session = (SpdyConnection?)null;
        session = new SpdyConnection(transport, async stream =>
        {
            // The error stream comes first and is held until its data stream arrives; the data stream's handler forwards.
            var id = stream.Headers.GetValueOrDefault("requestid") ?? "";
            var type = stream.Headers.GetValueOrDefault("streamtype");
            TaskCompletionSource<SpdyStream> ready;
            lock (pairs)
            {
                if (!pairs.TryGetValue(id, out var pair)) pair = (null, null, new TaskCompletionSource<SpdyStream>(TaskCreationOptions.RunContinuationsAsynchronously));
                if (type == "error") pair.Error = stream; else if (type == "data") pair.Data = stream;
                pairs[id] = pair;
                ready = pair.DataReady;
            }
            if (type == "error")
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stream.Reset, ctx.RequestAborted);
                timeout.CancelAfter(TimeSpan.FromSeconds(30));
                try { await ready.Task.WaitAsync(timeout.Token); }
                catch (OperationCanceledException)
                {
                    // No data stream came (or the session ended): the pair is dropped.
                    lock (pairs) pairs.Remove(id);
                }
                return;
            }
            if (type != "data")
            {
                await stream.ResetAsync(ctx.RequestAborted);
                return;
            }
            SpdyStream? error;
            lock (pairs) error = pairs[id].Error;
            ready.TrySetResult(stream);
            try
            {
                await ForwardAsync(target, ns, name, stream, error, ctx.RequestAborted);
            }
            finally
            {
                lock (pairs) pairs.Remove(id);
            }
        });
        await using (session)
            await session.RunAsync(ctx.RequestAborted);
    }

    async Task ForwardAsync(KubeletTarget target, string ns, string name, SpdyStream data, SpdyStream? error, CancellationToken ct)
    {
        var failure = "";
        try
        {
            var portHeader = data.Headers.GetValueOrDefault("port");
            if (!ushort.TryParse(portHeader, out var port) || port == 0)
                failure = portHeader is null ? "\"port\" header is required" : $"invalid port \"{portHeader}\": ports must be 1-65535";
            else
                failure = await CopyAsync(target.Url("portForward", ns, name, $"port={port}"), data, port, ct);
        }
        catch (ApiException e)
        {
            failure = e.Message;
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException)
        {
            failure = ct.IsCancellationRequested ? "" : $"lost the kubelet connection: {e.Message}";
        }
        try
        {
            await data.CloseAsync(ct);
            if (error is not null)
            {
                if (failure.Length > 0) await error.WriteAsync(Encoding.UTF8.GetBytes(failure), ct);
                await error.CloseAsync(ct);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException) { }
    }

    /// <summary>Copies one connection's bytes through the kubelet; returns the kubelet's error text (empty when none).</summary>
    async Task<string> CopyAsync(Uri url, SpdyStream data, int port, CancellationToken ct)
    {
        using var kubelet = await _dialer.DialAsync(url, [RemoteCommand.V4], "port-forward", ct);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, data.Reset);
        var errors = new StringBuilder();
        var up = Task.Run(async () =>
        {
            // kubectl → pod: each read becomes one channel-0 message; FIN becomes our close (the kubelet half-closes).
            var buffer = new byte[32 * 1024];
            buffer[0] = 0;
            int n;
            while ((n = await data.ReadAsync(buffer.AsMemory(1), stop.Token)) > 0)
                await kubelet.SendAsync(buffer.AsMemory(0, n + 1), WebSocketMessageType.Binary, true, stop.Token);
            if (!data.Reset.IsCancellationRequested && kubelet.State == WebSocketState.Open)
                await kubelet.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, stop.Token);
        }, CancellationToken.None);
        // pod → kubectl: the first message of each channel is the port (2 bytes, little-endian); then data or error text.
        var seen = new bool[2];
        try
        {
            await RemoteCommand.ReceiveMessagesAsync(kubelet, async m =>
            {
                var channel = m[0];
                if (channel > 1) return;
                var body = m.AsMemory(1);
                if (!seen[channel])
                {
                    seen[channel] = true;
                    if (body.Length < 2) return;
                    body = body[2..];
                }
                if (body.Length == 0) return;
                if (channel == 0) await data.WriteAsync(body, stop.Token);
                else errors.Append(Encoding.UTF8.GetString(body.Span));
            }, stop.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException && data.Reset.IsCancellationRequested)
        {
            // kubectl reset the stream (its local connection ended): the kubelet connection is cut below.
        }
        stop.Cancel();
        kubelet.Abort();
        try { await up; } catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException) { }
        return errors.ToString();
    }
}
