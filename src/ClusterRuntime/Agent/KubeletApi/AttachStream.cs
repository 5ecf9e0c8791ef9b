// The WebSocket to containerd's CRI stream server for one attach (v4.channel.k8s.io), opened in containerd's network namespace.
using System.Net.Sockets;
using System.Net.WebSockets;
using Appliance.ClusterRuntime.Agent.Kubelet.Probes;

namespace Appliance.ClusterRuntime.Agent.KubeletApi;

/// <summary>
/// Connects to the URL CRI <c>Attach</c> returned (<c>http://127.0.0.1:PORT/attach/TOKEN</c>, valid once). The stream
/// server listens on loopback in containerd's network namespace, so the socket is made there when that is not ours.
/// </summary>
internal static class AttachStream
{
    /// <summary>Opens the WebSocket; its subprotocol is v4 (containerd 1.6 knows no v5).</summary>
    public static async Task<ClientWebSocket> ConnectAsync(Uri url, string? runtimeNetns, CancellationToken ct)
    {
        var network = new ProbeNetwork(runtimeNetns);
        // Not disposed here: the upgraded connection outlives the call (it leaves the handler's pool at the 101).
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, token) =>
                new NetworkStream(await network.ConnectAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, token), ownsSocket: true),
        };
        var http = new HttpMessageInvoker(handler);
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol(RemoteCommand.V4);
        try
        {
            await socket.ConnectAsync(new UriBuilder(url) { Scheme = url.Scheme == "https" ? "wss" : "ws" }.Uri, http, ct);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
