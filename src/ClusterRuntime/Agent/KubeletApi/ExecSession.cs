// One exec's WebSocket: output FIFOs to channels 1 and 2, channel 0 to stdin, resize and close, then the exit Status.
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Agent.KubeletApi;

/// <summary>
/// Pumps one <see cref="TaskExec"/> over an accepted remote command WebSocket. The Status goes out after the output
/// FIFOs reached EOF (the shim closes them once the process's pipes are drained), so no output is cut off. A client
/// that goes away before the process ends gets it killed, as containerd's CRI exec does.
/// </summary>
sealed class ExecSession(WebSocket socket, bool canCloseStreams, IReadOnlyList<string> command)
{
    readonly SemaphoreSlim _write = new(1, 1);

    /// <summary>
    /// How long output may still come after the process exited. A child it left in the background can hold the output
    /// pipes open for ever; the Status goes out after this anyway, as containerd bounds its own IO drain.
    /// </summary>
    static readonly TimeSpan OutputDrain = TimeSpan.FromSeconds(5);

    /// <summary>Runs until the process exited, its output is sent, and the Status went out.</summary>
    public async Task RunAsync(TaskExec exec, CancellationToken ct)
    {
        using var clientGone = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var pumps = new List<Task>();
        if (exec.Stdout is { } stdout) pumps.Add(PumpAsync(stdout, RemoteCommand.Stdout, ct));
        if (exec.Stderr is { } stderr) pumps.Add(PumpAsync(stderr, RemoteCommand.Stderr, ct));
        var exited = false;
        var receive = Task.Run(async () =>
        {
            try
            {
                await ReceiveAsync(exec, ct);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException) { }
            if (!Volatile.Read(ref exited)) clientGone.Cancel();
        }, CancellationToken.None);
        uint code;
        try
        {
            code = await exec.WaitAsync(clientGone.Token);
        }
        catch (Exception e) when (e is OperationCanceledException || e is Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Cancelled })
        {
            using var kill = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await exec.KillAsync(kill.Token);
                // The shim deletes only a process that has exited: wait for it, so the disposal can delete it.
                await exec.WaitAsync(kill.Token);
            }
            catch (Exception k) when (k is Grpc.Core.RpcException or OperationCanceledException) { }
            throw new OperationCanceledException("the client went away before the process ended");
        }
        Volatile.Write(ref exited, true);
        try { await Task.WhenAll(pumps).WaitAsync(OutputDrain, ct); }
        catch (TimeoutException) { } // output still held open by a background child: what came is sent

        await FinishAsync(RemoteCommand.ExitStatus(code, command), ct);
        // The client answers the close; one that does not is left after a few seconds (the socket is then disposed).
        try { await receive.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None); } catch (TimeoutException) { }
    }

    /// <summary>Sends one message on <paramref name="channel"/>.</summary>
    public Task SendAsync(byte channel, ReadOnlyMemory<byte> data, CancellationToken ct) => RemoteCommand.SendAsync(socket, _write, channel, data, ct);

    /// <summary>Sends the Status on the error channel and closes the WebSocket normally.</summary>
    public async Task FinishAsync(JsonObject status, CancellationToken ct)
    {
        await RemoteCommand.SendAsync(socket, _write, RemoteCommand.Error, Encoding.UTF8.GetBytes(status.ToJsonString()), ct);
        await _write.WaitAsync(ct);
        try
        {
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, ct);
        }
        finally
        {
            _write.Release();
        }
    }

    async Task PumpAsync(Task<FileStream> open, byte channel, CancellationToken ct)
    {
        await using var fifo = await open;
        var buffer = new byte[32 * 1024];
        int n;
        while ((n = await fifo.ReadAsync(buffer, ct)) > 0)
            await RemoteCommand.SendAsync(socket, _write, channel, buffer.AsMemory(0, n), ct);
    }

    Task ReceiveAsync(TaskExec exec, CancellationToken ct) => RemoteCommand.ReceiveMessagesAsync(socket, async data =>
    {
        switch (data[0])
        {
            case RemoteCommand.Stdin when exec.Stdin is { } open && data.Length > 1:
                try
                {
                    var stdin = await open;
                    await stdin.WriteAsync(data.AsMemory(1), ct);
                    await stdin.FlushAsync(ct);
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException)
                {
                    // The process closed its stdin or exited: the rest is dropped, as a pipe would.
                }
                break;
            case RemoteCommand.Resize:
                try
                {
                    var size = JsonNode.Parse(data.AsMemory(1).Span.ToArray());
                    if (size?["Width"]?.GetValue<uint>() is uint w && size["Height"]?.GetValue<uint>() is uint h)
                        await exec.ResizeAsync(w, h, ct);
                }
                catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or Grpc.Core.RpcException)
                {
                    // A malformed size, or no terminal: the size stays as it was.
                }
                break;
            case RemoteCommand.Close when canCloseStreams && data.Length > 1 && data[1] == RemoteCommand.Stdin:
                try { await exec.CloseStdinAsync(ct); } catch (Exception e) when (e is Grpc.Core.RpcException or IOException) { }
                break;
        }
    }, ct);
}
