// The node's heartbeats: its Lease renewed every 10 s, its status pushed on change or every 5 minutes.
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Client;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Node;

/// <summary>
/// Keeps the node alive in the cluster, as the kubelet's node lease and status managers do. A failed renewal or push
/// is logged and tried again at the next tick; the failover under <see cref="ApiClient"/> picks another server.
/// </summary>
public sealed class NodeHeartbeat(ApiClient api, string nodeName, IPAddress nodeIp, string dataDir, IRuntimeStatus runtime, ILogger logger, TimeProvider clock)
{
    /// <summary>The kubelet API port reported in the Node status (the one actually bound).</summary>
    public int KubeletPort { get; init; } = NodeStatus.KubeletPort;

    /// <summary>How often the Lease is renewed (the kubelet's 10 s).</summary>
    public TimeSpan LeaseInterval { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>The Lease duration written (the kubelet's 40 s).</summary>
    public int LeaseDurationSeconds { get; init; } = 40;
    /// <summary>How often an unchanged status is pushed anyway (the kubelet's 5 minutes).</summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>
    /// How often the runtime is asked between ticks while the node is not Ready (the kubelet's fast status update at
    /// start): the CNI config written, the node turns Ready within this, not up to a lease interval later.
    /// </summary>
    public TimeSpan NotReadyPoll { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Called once per tick after the Lease (server discovery, certificate renewal); errors are logged.</summary>
    public Func<CancellationToken, Task>? EachTick { get; init; }

    const string LeaseNamespace = "kube-node-lease";
    JsonObject? _lastStatus;
    DateTimeOffset _lastPush;
    bool _ready;
    string? _nodeUid;

    /// <summary>
    /// Pushes the status and renews the Lease now, then every <see cref="LeaseInterval"/> until cancelled; while the
    /// node is not Ready the status is also checked every <see cref="NotReadyPoll"/> in between.
    /// </summary>
    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var next = clock.GetUtcNow() + LeaseInterval;
            await Step("status", PushStatusAsync, ct);
            await Step("lease", RenewLeaseAsync, ct);
            if (EachTick is not null) await Step("maintenance", EachTick, ct);
            try
            {
                while (!_ready && clock.GetUtcNow() + NotReadyPoll < next)
                {
                    await Task.Delay(NotReadyPoll, clock, ct);
                    await Step("status", PushStatusAsync, ct);
                }
                if (next - clock.GetUtcNow() is { Ticks: > 0 } rest) await Task.Delay(rest, clock, ct);
            }
            catch (OperationCanceledException) { return; }
        }
    }

    async Task Step(string what, Func<CancellationToken, Task> step, CancellationToken ct)
    {
        try { await step(ct); }
        catch (Exception e) when (!ct.IsCancellationRequested && e is HttpRequestException or ApiStatusException or InvalidDataException or OperationCanceledException or IOException)
        {
            logger.LogWarning("node {Node} {What}: {Error}", nodeName, what, e.Message);
        }
    }

    /// <summary>Pushes the status when it changed or <see cref="StatusInterval"/> passed since the last push.</summary>
    public async Task PushStatusAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var report = await runtime.ReadAsync(ct);
        var status = NodeStatus.Build(nodeName, nodeIp, MachineInfo.Read(dataDir), report, _lastStatus?["conditions"] as JsonArray, now, KubeletPort);
        if (!NodeStatus.Changed(_lastStatus, status) && now - _lastPush < StatusInterval)
        {
            _ready = report.Ready;
            return;
        }
        var stored = await api.MergePatchAsync($"/api/v1/nodes/{nodeName}/status", new JsonObject { ["status"] = status }, ct);
        _nodeUid = stored["metadata"]?["uid"]?.GetValue<string>();
        if (_lastStatus?["conditions"]?.AsArray().OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == "Ready")?["status"]?.GetValue<string>()
            is var was && was != (report.Ready ? "True" : "False"))
            logger.LogInformation("node {Node} Ready={Ready} ({Reason}: {Message})", nodeName, report.Ready, report.Reason, report.Message);
        _lastStatus = status;
        _lastPush = now;
        _ready = report.Ready;
    }

    /// <summary>Renews the node's Lease in kube-node-lease, creating it when missing.</summary>
    public async Task RenewLeaseAsync(CancellationToken ct)
    {
        var renew = clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        var path = $"/apis/coordination.k8s.io/v1/namespaces/{LeaseNamespace}/leases/{nodeName}";
        try
        {
            await api.MergePatchAsync(path, new JsonObject { ["spec"] = new JsonObject { ["holderIdentity"] = nodeName, ["renewTime"] = renew } }, ct);
        }
        catch (ApiStatusException e) when (e.Code == HttpStatusCode.NotFound)
        {
            var meta = new JsonObject { ["name"] = nodeName, ["namespace"] = LeaseNamespace };
            // Owned by the Node (as the kubelet does), so deleting the Node deletes its Lease.
            if (_nodeUid is not null)
                meta["ownerReferences"] = new JsonArray(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Node", ["name"] = nodeName, ["uid"] = _nodeUid });
            await api.CreateAsync($"/apis/coordination.k8s.io/v1/namespaces/{LeaseNamespace}/leases", new JsonObject
            {
                ["apiVersion"] = "coordination.k8s.io/v1",
                ["kind"] = "Lease",
                ["metadata"] = meta,
                ["spec"] = new JsonObject { ["holderIdentity"] = nodeName, ["leaseDurationSeconds"] = LeaseDurationSeconds, ["renewTime"] = renew },
            }, ct);
        }
    }
}
