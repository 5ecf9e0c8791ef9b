// A CRI v1 client over containerd's unix socket: one HTTP/2 channel, the RuntimeService and ImageService stubs.
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Appliance.ClusterRuntime.Agent.Cri;

/// <summary>A CRI connection to a runtime's unix socket. Cheap to keep open; dispose closes the channel.</summary>
internal sealed class CriConnection : IDisposable
{
    readonly GrpcChannel _channel;

    /// <summary>The socket path this connection dials (each call dials it again if the runtime restarted).</summary>
    public string SocketPath { get; }

    /// <summary>Pod sandboxes, containers, exec, stats, status.</summary>
    public RuntimeService.RuntimeServiceClient Runtime { get; }

    /// <summary>Images in the runtime's store.</summary>
    public ImageService.ImageServiceClient Images { get; }

    /// <summary>Connects lazily to <paramref name="endpoint"/>: a socket path or a <c>unix://</c> URI.</summary>
    public CriConnection(string endpoint)
    {
        SocketPath = ParseEndpoint(endpoint);
        var path = SocketPath;
        _channel = UnixSocketChannel.Create(path, "cri.local", e => new CriUnavailableException(path, e));
        Runtime = new RuntimeService.RuntimeServiceClient(_channel);
        Images = new ImageService.ImageServiceClient(_channel);
    }

    /// <summary>The runtime's name and version (CRI Version); throws <see cref="CriUnavailableException"/> when the
    /// socket is missing or refuses.</summary>
    public async Task<VersionResponse> VersionAsync(CancellationToken ct = default)
    {
        try
        {
            return await Runtime.VersionAsync(new VersionRequest { Version = "v1" }, cancellationToken: ct);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
        {
            throw new CriUnavailableException(SocketPath, e);
        }
    }

    /// <summary>"unix:///run/x.sock" or "/run/x.sock" → "/run/x.sock"; anything else is refused with its value.</summary>
    public static string ParseEndpoint(string endpoint)
    {
        var path = endpoint.StartsWith("unix://", StringComparison.Ordinal) ? endpoint["unix://".Length..] : endpoint;
        if (!path.StartsWith('/'))
            throw new ArgumentException(
                $"container runtime endpoint '{endpoint}' is not a unix socket (expected unix:///path or /path)");
        if (System.Text.Encoding.UTF8.GetByteCount(path) >= 108)
            throw new ArgumentException(
                $"container runtime endpoint '{endpoint}' is {path.Length} bytes; unix socket paths must be under 108");
        return path;
    }

    /// <inheritdoc />
    public void Dispose() => _channel.Dispose();
}
