// One attach's bridge: the client's remote command WebSocket (v5/v4) to containerd's SPDY streams and back.
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Spdy;

namespace Appliance.ClusterRuntime.Agent.KubeletApi;

/// <summary>
/// Channel 0 goes to containerd's stdin stream, v5's <c>[255, 0]</c> half-closes it (containerd then closes the
/// container's stdin when it was created with <c>stdinOnce</c>, or ends the attach), channel 4 goes to the resize
/// stream. stdout and stderr come back as channels 1 and 2, and containerd's Status (error stream) as channel 3 once
/// the outputs ended; an empty error stream is Success. A client that leaves ends the attach, not the container.
/// </summary>
internal static class AttachSession
{
    public static async Task RunAsync(WebSocket socket, ExecSession session, AttachStream runtime, CancellationToken ct)
    {
        using var clientGone = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var outputs = new List<Task>();
        if (runtime.Stdout is { } stdout) outputs.Add(PumpAsync(stdout, session, RemoteCommand.Stdout, ct));
        if (runtime.Stderr is { } stderr) outputs.Add(PumpAsync(stderr, session, RemoteCommand.Stderr, ct));
        var error = ReadAllAsync(runtime.Error, ct);
        var receive = Task.Run(async () =>
        {
            try { await ReceiveAsync(socket, runtime, ct); }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException) { }
            clientGone.Cancel();
        }, CancellationToken.None);
        var ended = Task.WhenAll([.. outputs, error]);
        try { await ended.WaitAsync(clientGone.Token); }
        catch (OperationCanceledException) { return; } // the client left: disposing the runtime side ends the attach
        var text = await error;
        JsonObject status;
        try { status = text.Length == 0 ? new JsonObject { ["metadata"] = new JsonObject(), ["status"] = "Success" } : JsonNode.Parse(text) as JsonObject ?? RemoteCommand.Failure(text); }
        catch (JsonException) { status = RemoteCommand.Failure(text); }
        await session.FinishAsync(status, ct);
        try { await receive.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None); } catch (TimeoutException) { }
    }

    static async Task PumpAsync(SpdyStream from, ExecSession to, byte channel, CancellationToken ct)
    {
        var buffer = new byte[32 * 1024];
        int n;
        while ((n = await from.ReadAsync(buffer, ct)) > 0)
            await to.SendAsync(channel, buffer.AsMemory(0, n), ct);
    }

    static async Task<string> ReadAllAsync(SpdyStream from, CancellationToken ct)
    {
        var text = new MemoryStream();
        var buffer = new byte[4096];
        int n;
        while ((n = await from.ReadAsync(buffer, ct)) > 0) text.Write(buffer, 0, n);
        return Encoding.UTF8.GetString(text.ToArray());
    }

    static Task ReceiveAsync(WebSocket socket, AttachStream runtime, CancellationToken ct) => RemoteCommand.ReceiveMessagesAsync(socket, async data =>
    {
        switch (data[0])
        {
            case RemoteCommand.Stdin when runtime.Stdin is { } stdin && data.Length > 1:
                await stdin.WriteAsync(data.AsMemory(1), ct);
                break;
            case RemoteCommand.Resize when runtime.Resize is { } resize && data.Length > 1:
                await resize.WriteAsync(data.AsMemory(1), ct);
                break;
            case RemoteCommand.Close when data.Length > 1 && data[1] == RemoteCommand.Stdin && runtime.Stdin is { } closed:
                await closed.CloseAsync(ct);
                break;
        }
    }, ct);
}
