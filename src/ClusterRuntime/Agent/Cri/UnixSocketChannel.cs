// One gRPC channel over a unix socket, for the CRI and for containerd's own API.
using System.Net.Sockets;
using Grpc.Net.Client;

namespace Appliance.ClusterRuntime.Agent.Cri;

/// <summary>Builds an HTTP/2 gRPC channel whose every connection dials a unix socket.</summary>
internal static class UnixSocketChannel
{
    /// <summary>
    /// A channel to <paramref name="socketPath"/>; <paramref name="authority"/> is only a placeholder host (never
    /// resolved), and <paramref name="unreachable"/> turns a failed dial into the caller's exception.
    /// </summary>
    public static GrpcChannel Create(string socketPath, string authority, Func<SocketException, Exception> unreachable)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = (_, _) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    // A unix socket connects or is refused at once, so the synchronous call costs no waiting. It is
                    // used because a failed ConnectAsync records its stack trace with file and line numbers, which
                    // loads the PDB reader (System.Reflection.Metadata and the pdb itself, 2.5 MB of RSS for good),
                    // and containerd's socket refuses connections every time the agent starts it.
                    socket.Connect(new UnixDomainSocketEndPoint(socketPath));
                    return ValueTask.FromResult<Stream>(new NetworkStream(socket, ownsSocket: true));
                }
                catch (SocketException e)
                {
                    socket.Dispose();
                    throw unreachable(e);
                }
            },
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            EnableMultipleHttp2Connections = true,
        };
        return GrpcChannel.ForAddress("http://" + authority, new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = 16 * 1024 * 1024,
        });
    }
}
