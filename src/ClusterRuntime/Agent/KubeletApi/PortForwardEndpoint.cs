// GET /portForward/{ns}/{pod}?port=N upgraded to WebSocket: one TCP connection to the port inside the pod's network namespace.
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Cri;
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Appliance.ClusterRuntime.Agent.Kubelet.Probes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.KubeletApi;

/// <summary>
/// Upstream's WebSocket port-forward protocol for one port: channel 0 carries data both ways, channel 1 errors; the
/// first message on each channel is the port (2 bytes, little-endian). The connection goes to localhost inside the
/// pod's network namespace (entered through the sandbox process's <c>/proc/PID/ns/net</c>), so a port bound to
/// 127.0.0.1 in the pod is reachable, and a hostNetwork pod's is the node's. A client close is a half-close
/// (shutdown of our send side); the pod closing ends the WebSocket after at most a second for the client's last data.
/// </summary>
sealed class PortForwardEndpoint(CriConnection cri, ILogger logger)
{
    public async Task HandleAsync(HttpContext ctx, string rest)
    {
        var parts = rest.Split('/');
        if (parts.Length != 2 || parts.Any(p => p.Length == 0))
        {
            await KubeletServer.Text(ctx, 400, "expected /portForward/{namespace}/{pod}?port=N");
            return;
        }
        var portText = ctx.Request.Query["port"].ToString();
        if (!ushort.TryParse(portText, out var port) || port == 0)
        {
            await KubeletServer.Text(ctx, 400, portText.Length == 0 ? "a port is required (?port=N)" : $"invalid port \"{portText}\": ports must be 1-65535");
            return;
        }
        if (!RemoteCommand.IsUpgrade(ctx) || !RemoteCommand.Offered(ctx.Request).Contains(RemoteCommand.V4))
        {
            await KubeletServer.Text(ctx, 400, $"port-forward needs a WebSocket upgrade with subprotocol {RemoteCommand.V4}");
            return;
        }
        string ns = Uri.UnescapeDataString(parts[0]), pod = Uri.UnescapeDataString(parts[1]);
        using var socket = await RemoteCommand.AcceptAsync(ctx, RemoteCommand.V4);
        var ct = ctx.RequestAborted;
        var write = new SemaphoreSlim(1, 1);
        var portBytes = new[] { (byte)(port & 0xFF), (byte)(port >> 8) };
        try
        {
            await RemoteCommand.SendAsync(socket, write, 0, portBytes, ct);
            await RemoteCommand.SendAsync(socket, write, 1, portBytes, ct);
            Socket target;
            try
            {
                target = await ConnectAsync(ns, pod, port, ct);
            }
            catch (Exception e) when (e is SocketException or IOException or Grpc.Core.RpcException or InvalidDataException)
            {
                var reason = e is Grpc.Core.RpcException r ? r.Status.Detail : e.Message;
                await RemoteCommand.SendAsync(socket, write, 1, Encoding.UTF8.GetBytes($"error forwarding port {port} to pod {ns}/{pod}: {reason}"), ct);
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, ct);
                return;
            }
            using (target)
                await CopyAsync(socket, write, target, ct);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or SocketException)
        {
            logger.LogInformation("port-forward to {Ns}/{Pod}:{Port} ended early: {Error}", ns, pod, port, e.Message);
        }
    }

    /// <summary>A connection to localhost:<paramref name="port"/> inside the pod's ready sandbox's network namespace.</summary>
    async Task<Socket> ConnectAsync(string ns, string pod, int port, CancellationToken ct)
    {
        var sandboxes = await cri.Runtime.ListPodSandboxAsync(new ListPodSandboxRequest
        {
            Filter = new PodSandboxFilter
            {
                State = new PodSandboxStateValue { State = PodSandboxState.SandboxReady },
                LabelSelector = { ["io.kubernetes.pod.name"] = pod, ["io.kubernetes.pod.namespace"] = ns },
            },
        }, cancellationToken: ct);
        var sandbox = sandboxes.Items.OrderByDescending(s => s.CreatedAt).FirstOrDefault()
            ?? throw new IOException("the pod has no ready sandbox on this node");
        var status = await cri.Runtime.PodSandboxStatusAsync(new PodSandboxStatusRequest { PodSandboxId = sandbox.Id, Verbose = true }, cancellationToken: ct);
        // containerd's verbose status: info["info"] is JSON with the sandbox process's pid.
        var pid = status.Info.TryGetValue("info", out var info) ? JsonNode.Parse(info)?["pid"]?.GetValue<int>() ?? 0 : 0;
        if (pid <= 0) throw new InvalidDataException($"sandbox {sandbox.Id}: the runtime's status gives no process id");
        var network = new ProbeNetwork($"/proc/{pid}/ns/net");
        var errors = new List<string>();
        foreach (var host in new[] { "127.0.0.1", "::1" })
        {
            try
            {
                return await network.ConnectAsync(host, port, ct);
            }
            catch (SocketException e)
            {
                errors.Add($"{host}: {e.Message}");
            }
        }
        throw new IOException($"failed to connect to localhost:{port} inside the pod's network namespace ({string.Join("; ", errors)})");
    }

    static async Task CopyAsync(WebSocket socket, SemaphoreSlim write, Socket target, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var down = Task.Run(async () =>
        {
            var buffer = new byte[32 * 1024];
            int n;
            while ((n = await target.ReceiveAsync(buffer, SocketFlags.None, stop.Token)) > 0)
                await RemoteCommand.SendAsync(socket, write, 0, buffer.AsMemory(0, n), stop.Token);
        }, CancellationToken.None);
        var up = Task.Run(async () =>
        {
            await RemoteCommand.ReceiveMessagesAsync(socket, async m =>
            {
                if (m.Length < 2 || m[0] != 0) return;
                var data = m.AsMemory(1);
                while (data.Length > 0) data = data[await target.SendAsync(data, SocketFlags.None, stop.Token)..];
            }, stop.Token);
            target.Shutdown(SocketShutdown.Send);
        }, CancellationToken.None);
        var first = await Task.WhenAny(down, up);
        if (first == up)
        {
            // The client is done sending: the pod's answer still comes.
            try { await down; } catch (Exception e) when (e is OperationCanceledException or SocketException or WebSocketException or IOException) { }
        }
        else
        {
            try { await up.WaitAsync(TimeSpan.FromSeconds(1), ct); }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException or SocketException or WebSocketException or IOException) { }
        }
        stop.Cancel();
        await write.WaitAsync(CancellationToken.None);
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }
        catch (Exception e) when (e is WebSocketException or IOException) { }
        finally { write.Release(); }
        try { await Task.WhenAll(up, down); } catch (Exception e) when (e is OperationCanceledException or SocketException or WebSocketException or IOException) { }
    }
}
