// containerd's own gRPC API (content, images, leases, containers, tasks) over its unix socket, every call in one containerd namespace.
using Appliance.ClusterRuntime.Agent.Images.Api;
using Grpc.Core;
using Grpc.Net.Client;

namespace Appliance.ClusterRuntime.Agent.Images;

/// <summary>
/// A connection to containerd's API socket. Every call carries the <c>containerd-namespace</c> header (CRI keeps its
/// images in <c>k8s.io</c>), and, when a lease is given, the <c>containerd-lease</c> header that keeps what
/// the call writes from garbage collection until the lease is deleted.
/// </summary>
internal sealed class ContainerdConnection : IDisposable
{
    readonly GrpcChannel _channel;

    /// <summary>The socket path dialled.</summary>
    public string SocketPath { get; }

    /// <summary>The containerd namespace of every call.</summary>
    public string Namespace { get; }

    /// <summary>Content store.</summary>
    public Content.ContentClient Content { get; }

    /// <summary>Image records.</summary>
    public Api.Images.ImagesClient Images { get; }

    /// <summary>Leases.</summary>
    public Leases.LeasesClient Leases { get; }

    /// <summary>Container records (the exec reads a container's OCI spec).</summary>
    public Containers.ContainersClient Containers { get; }

    /// <summary>Tasks: extra processes in running containers (kubectl exec).</summary>
    public Tasks.TasksClient Tasks { get; }

    /// <summary>Connects lazily to <paramref name="endpoint"/> (a socket path or <c>unix://</c> URI, as for CRI).</summary>
    public ContainerdConnection(string endpoint, string ns = "k8s.io")
    {
        var socketPath = Cri.CriConnection.ParseEndpoint(endpoint);
        SocketPath = socketPath;
        Namespace = ns;
        _channel = Cri.UnixSocketChannel.Create(socketPath, "containerd.local", e => new IOException($"containerd socket {socketPath}: {e.Message}", e));
        Content = new Content.ContentClient(_channel);
        Images = new Api.Images.ImagesClient(_channel);
        Leases = new Leases.LeasesClient(_channel);
        Containers = new Containers.ContainersClient(_channel);
        Tasks = new Tasks.TasksClient(_channel);
    }

    /// <summary>Call options with the namespace header (and the lease header, when one is given).</summary>
    public CallOptions Call(CancellationToken ct, string? lease = null)
    {
        var headers = new Metadata { { "containerd-namespace", Namespace } };
        if (lease is not null)
            headers.Add("containerd-lease", lease);
        return new CallOptions(headers, cancellationToken: ct);
    }

    /// <summary>
    /// Creates a lease that expires by itself after <paramref name="expiry"/> (so a crash mid-import leaves nothing
    /// pinned for long), and returns its id; <see cref="DeleteLeaseAsync"/> ends it.
    /// </summary>
    public async Task<string> CreateLeaseAsync(TimeSpan expiry, CancellationToken ct)
    {
        var id = "appliance-import-" + Guid.NewGuid().ToString("N");
        var req = new CreateRequest { Id = id };
        req.Labels["containerd.io/gc.expire"] = DateTime.UtcNow.Add(expiry).ToString("yyyy-MM-ddTHH:mm:ssZ");
        await Leases.CreateAsync(req, Call(ct));
        return id;
    }

    /// <summary>
    /// Deletes a lease and runs containerd's garbage collection at once (<c>sync</c>): what the lease protected stays
    /// only if an image record reaches it through the GC labels, so a missing label shows at once, not hours later.
    /// </summary>
    public async Task DeleteLeaseAsync(string id, CancellationToken ct) =>
        await Leases.DeleteAsync(new DeleteRequest { Id = id, Sync = true }, Call(ct));

    /// <inheritdoc />
    public void Dispose() => _channel.Dispose();
}
