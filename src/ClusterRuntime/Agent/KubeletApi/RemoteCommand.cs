// Kubernetes' remote command protocol over WebSocket (v4/v5.channel.k8s.io): channels, the upgrade, the Status frame.
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Appliance.ClusterRuntime.Agent.KubeletApi;

/// <summary>
/// Each binary message starts with a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 error (one metav1.Status as JSON,
/// the last message), 4 resize (<c>{"Width":W,"Height":H}</c>). v5 adds 255: <c>[255, channel]</c> closes that
/// channel (stdin EOF). kubectl 1.32 asks for v5 only; v4 clients cannot end stdin.
/// </summary>
public static class RemoteCommand
{
    /// <summary>The subprotocol with stream close (kubectl 1.31+).</summary>
    public const string V5 = "v5.channel.k8s.io";

    /// <summary>The subprotocol with a JSON error channel and resize, without stream close.</summary>
    public const string V4 = "v4.channel.k8s.io";

    /// <summary>Channel numbers.</summary>
    public const byte Stdin = 0, Stdout = 1, Stderr = 2, Error = 3, Resize = 4, Close = 255;

    const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary>The subprotocols the client offered, in its order.</summary>
    public static List<string> Offered(HttpRequest request) =>
        [.. request.Headers.SecWebSocketProtocol.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))];

    /// <summary>True when the request asks for a WebSocket upgrade (RFC 6455 §4.1).</summary>
    public static bool IsUpgrade(HttpContext ctx) =>
        ctx.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true }
        && string.Equals(ctx.Request.Headers.Upgrade, "websocket", StringComparison.OrdinalIgnoreCase)
        && !string.IsNullOrEmpty(ctx.Request.Headers.SecWebSocketKey);

    /// <summary>
    /// Answers 101 with <paramref name="protocol"/> (RFC 6455 §4.2.2) and returns the server side of the WebSocket.
    /// Pings from the client are answered by the WebSocket itself; none are sent from here.
    /// </summary>
    public static async Task<WebSocket> AcceptAsync(HttpContext ctx, string protocol)
    {
        var key = ctx.Request.Headers.SecWebSocketKey.ToString().Trim();
        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));
        ctx.Response.Headers.Connection = "Upgrade";
        ctx.Response.Headers.Upgrade = "websocket";
        ctx.Response.Headers.SecWebSocketAccept = accept;
        ctx.Response.Headers.SecWebSocketProtocol = protocol;
        var stream = await ctx.Features.Get<IHttpUpgradeFeature>()!.UpgradeAsync();
        // The subprotocol is only answered in the header: .NET's validation refuses the "/" of SPDY/3.1+portforward.k8s.io.
        return WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
    }

    /// <summary>The error channel's Status for an exit code: Success for 0, else NonZeroExitCode with an ExitCode cause.</summary>
    public static JsonObject ExitStatus(uint code, IEnumerable<string> command) => code == 0
        ? new JsonObject { ["metadata"] = new JsonObject(), ["status"] = "Success" }
        : new JsonObject
        {
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = $"command terminated with non-zero exit code: error executing command [{string.Join(' ', command)}], exit code {code}",
            ["reason"] = "NonZeroExitCode",
            ["details"] = new JsonObject { ["causes"] = new JsonArray(new JsonObject { ["reason"] = "ExitCode", ["message"] = code.ToString() }) },
        };

    /// <summary>The error channel's Status for a failure before or instead of an exit (kubectl prints its message).</summary>
    public static JsonObject Failure(string message, string reason = "InternalError") => new()
    {
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
    };

    /// <summary>One binary message: the channel byte, then the data.</summary>
    public static async Task SendAsync(WebSocket socket, SemaphoreSlim writeLock, byte channel, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        var frame = new byte[data.Length + 1];
        frame[0] = channel;
        data.CopyTo(frame.AsMemory(1));
        await writeLock.WaitAsync(ct);
        try
        {
            await socket.SendAsync(frame, WebSocketMessageType.Binary, endOfMessage: true, ct);
        }
        finally
        {
            writeLock.Release();
        }
    }

    /// <summary>Calls <paramref name="onMessage"/> with each whole, non-empty message until the peer's close.</summary>
    public static async Task ReceiveMessagesAsync(WebSocket socket, Func<byte[], Task> onMessage, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var r = await socket.ReceiveAsync(buffer, ct);
            if (r.MessageType == WebSocketMessageType.Close) return;
            message.Write(buffer, 0, r.Count);
            if (!r.EndOfMessage) continue;
            var data = message.ToArray();
            message.SetLength(0);
            if (data.Length > 0) await onMessage(data);
        }
    }

    /// <summary>
    /// Relays messages unchanged both ways between a client and a backend WebSocket (the API server's exec and attach).
    /// The backend ends a stream (Status, then close); the client answers the close, or is given a few seconds to.
    /// </summary>
    public static async Task BridgeAsync(WebSocket client, WebSocket backend, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var toBackend = RelayAsync(client, backend, stop.Token);
        var toClient = RelayAsync(backend, client, stop.Token);
        var first = await Task.WhenAny(toBackend, toClient);
        var other = first == toBackend ? toClient : toBackend;
        try { await other.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None); } catch (TimeoutException) { }
        stop.Cancel();
        await Task.WhenAll(toBackend, toClient); // each relay ends on cancellation without throwing
    }

    /// <summary>Copies messages from one WebSocket to the other until a close, which is passed on.</summary>
    static async Task RelayAsync(WebSocket from, WebSocket to, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var r = await from.ReceiveAsync(buffer, ct);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    if (to.State is WebSocketState.Open or WebSocketState.CloseReceived)
                        await to.CloseOutputAsync(r.CloseStatus ?? WebSocketCloseStatus.NormalClosure, r.CloseStatusDescription, ct);
                    return;
                }
                await to.SendAsync(buffer.AsMemory(0, r.Count), r.MessageType, r.EndOfMessage, ct);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            // One side went away without a close: the other is cut too.
            to.Abort();
        }
    }
}
