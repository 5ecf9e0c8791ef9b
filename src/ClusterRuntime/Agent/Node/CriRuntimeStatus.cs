// The Ready condition from CRI Status (RuntimeReady and NetworkReady), and containerd's version for nodeInfo.
using Appliance.ClusterRuntime.Agent.Cri;
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Grpc.Core;

namespace Appliance.ClusterRuntime.Agent.Node;

/// <summary>
/// Asks the runtime behind <paramref name="cri"/> as the kubelet does: Ready only when CRI Status reports both
/// RuntimeReady and NetworkReady; otherwise Ready=False, reason <c>KubeletNotReady</c>, with the runtime's own reason
/// and message (containerd keeps NetworkReady false until a CNI config file is in its conf dir). A ready runtime's
/// images are listed too, for the Node's <c>status.images</c>.
/// </summary>
internal sealed class CriRuntimeStatus(CriConnection cri) : IRuntimeStatus
{
    string _version = "";
    IReadOnlyList<NodeImage> _images = [];

    /// <inheritdoc />
    public async Task<RuntimeReport> ReadAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            if (_version.Length == 0)
            {
                var v = await cri.VersionAsync(timeout.Token);
                _version = $"{v.RuntimeName}://{v.RuntimeVersion}";
            }
            var status = await cri.Runtime.StatusAsync(new StatusRequest(), cancellationToken: timeout.Token);
            var conditions = status.Status?.Conditions.ToDictionary(c => c.Type, c => c) ?? [];
            foreach (var type in new[] { "RuntimeReady", "NetworkReady" })
            {
                if (!conditions.TryGetValue(type, out var c))
                    return NotReady($"container runtime status check may not have completed yet: {type} missing");
                if (!c.Status)
                    return NotReady($"container runtime{(type == "NetworkReady" ? " network" : "")} not ready: {type}=false reason:{c.Reason} message:{c.Message}");
            }
            return new RuntimeReport(true, "KubeletReady", "kubelet is posting ready status", _version) { Images = await ImagesAsync(ct) };
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is CriUnavailableException or RpcException or OperationCanceledException)
        {
            // The version is asked again once the runtime answers: it may have been upgraded while away.
            _version = "";
            return NotReady($"container runtime is down: {(e is RpcException r ? r.Status.Detail : e.Message)}");
        }
    }

    RuntimeReport NotReady(string message) => new(false, "KubeletNotReady", message, _version) { Images = _images };

    /// <summary>The runtime's images; a list that fails or is slow keeps the last one (it never decides readiness).</summary>
    async Task<IReadOnlyList<NodeImage>> ImagesAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            _images = [.. (await cri.Images.ListImagesAsync(new ListImagesRequest(), cancellationToken: timeout.Token)).Images
                .Select(i => new NodeImage([.. i.RepoDigests, .. i.RepoTags], (long)i.Size))];
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is RpcException or OperationCanceledException)
        {
        }
        return _images;
    }
}
