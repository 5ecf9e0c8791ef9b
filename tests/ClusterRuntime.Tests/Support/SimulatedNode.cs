// An API-only node for controller tests: a Node object, a renewed Lease, and a kubelet stand-in that reports pods.
using k8s;
using k8s.Models;

namespace Appliance.ClusterRuntime.Tests.Support;

/// <summary>
/// Registers a Ready Node (4 CPUs, 8 GiB, 110 pods unless given), renews its Lease in <c>kube-node-lease</c> every
/// <see cref="LeaseInterval"/> (10 s, or shorter for tests with a short grace period), and, like a kubelet, watches the pods bound to it: each gets phase Running, an IP and
/// Ready conditions (unless <see cref="AutoReady"/> is off), or, when <see cref="Outcome"/> gives an exit code for it,
/// phase Succeeded/Failed; a pod with a deletionTimestamp (the API server's graceful deletion of a bound pod) is deleted
/// for good with grace 0, as a kubelet does once the containers stopped. <see cref="StopHeartbeat"/> makes the node's
/// Lease silent (its pods are still finished when deleted, so evictions complete).
/// </summary>
public sealed class SimulatedNode : IAsyncDisposable
{
    readonly IKubernetes _client;
    readonly CancellationTokenSource _stop = new();
    readonly CancellationTokenSource _heartbeat;
    readonly Task _leaseLoop;
    readonly Task _podLoop;
    int _nextIp = 2;

    SimulatedNode(IKubernetes client, string name, int index, TimeSpan leaseInterval)
    {
        _client = client;
        Name = name;
        Index = index;
        LeaseInterval = leaseInterval;
        _heartbeat = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        _leaseLoop = Task.Run(() => RenewLeaseAsync(_heartbeat.Token));
        _podLoop = Task.Run(() => ActAsKubeletAsync(_stop.Token));
    }

    /// <summary>The node name.</summary>
    public string Name { get; }

    /// <summary>The node's number (its InternalIP is 192.0.2.INDEX).</summary>
    public int Index { get; }

    /// <summary>How often the Lease is renewed (the kubelet's 10 s unless given at start).</summary>
    public TimeSpan LeaseInterval { get; }

    /// <summary>When true (default), bound pods become Running and Ready.</summary>
    public bool AutoReady { get; set; } = true;

    /// <summary>When it gives an exit code for a pod, the pod terminates with it (0 Succeeded, else Failed).</summary>
    public Func<V1Pod, int?> Outcome { get; set; } = _ => null;

    /// <summary>Creates the Node (with <paramref name="labels"/> and <paramref name="taints"/>) and starts heartbeating.</summary>
    public static async Task<SimulatedNode> StartAsync(IKubernetes client, string name, int index, string cpu = "4", string memory = "8Gi",
        IDictionary<string, string>? labels = null, IList<V1Taint>? taints = null, CancellationToken ct = default, TimeSpan? leaseInterval = null)
    {
        var allLabels = new Dictionary<string, string>
        {
            ["kubernetes.io/hostname"] = name,
            ["kubernetes.io/os"] = "linux",
            ["kubernetes.io/arch"] = "amd64",
        };
        foreach (var (k, v) in labels ?? new Dictionary<string, string>()) allLabels[k] = v;
        var resources = new Dictionary<string, ResourceQuantity>
        {
            ["cpu"] = new(cpu),
            ["memory"] = new(memory),
            ["pods"] = new("110"),
            ["ephemeral-storage"] = new("20Gi"),
        };
        var node = new V1Node
        {
            Metadata = new V1ObjectMeta { Name = name, Labels = allLabels },
            Spec = new V1NodeSpec { Taints = taints },
        };
        await client.CoreV1.CreateNodeAsync(node, cancellationToken: ct);
        var status = new V1Node
        {
            Status = new V1NodeStatus
            {
                Capacity = resources,
                Allocatable = resources,
                Addresses = [new V1NodeAddress { Address = "192.0.2." + index, Type = "InternalIP" }, new V1NodeAddress { Address = name, Type = "Hostname" }],
                Conditions = [Condition("Ready", "True", "KubeletReady", "kubelet is posting ready status")],
                NodeInfo = new V1NodeSystemInfo
                {
                    Architecture = "amd64", BootID = "simulated", ContainerRuntimeVersion = "containerd://1.6.20", KernelVersion = "6.1.0",
                    KubeProxyVersion = "v1.32.0", KubeletVersion = "v1.32.0", MachineID = "machine-" + index, OperatingSystem = "linux",
                    OsImage = "Simulated", SystemUUID = "system-" + index,
                },
            },
        };
        await client.CoreV1.PatchNodeStatusAsync(new V1Patch(status, V1Patch.PatchType.MergePatch), name, cancellationToken: ct);
        return new SimulatedNode(client, name, index, leaseInterval ?? TimeSpan.FromSeconds(10));
    }

    /// <summary>Stops renewing the Lease (the node turns NotReady once the grace period passes).</summary>
    public void StopHeartbeat() => _heartbeat.Cancel();

    /// <summary>Sets the Ready condition of a pod bound to this node.</summary>
    public Task SetPodReadyAsync(string ns, string pod, bool ready, CancellationToken ct = default) =>
        PatchPodAsync(ns, pod, Running(ready, null), ct);

    static V1NodeCondition Condition(string type, string status, string reason, string message) =>
        new() { Status = status, Type = type, LastHeartbeatTime = DateTime.UtcNow, LastTransitionTime = DateTime.UtcNow, Message = message, Reason = reason };

    async Task RenewLeaseAsync(CancellationToken ct)
    {
        var lease = new V1Lease
        {
            Metadata = new V1ObjectMeta { Name = Name, NamespaceProperty = "kube-node-lease" },
            Spec = new V1LeaseSpec { HolderIdentity = Name, LeaseDurationSeconds = 40, RenewTime = DateTime.UtcNow },
        };
        try
        {
            await _client.CoordinationV1.CreateNamespacedLeaseAsync(lease, "kube-node-lease", cancellationToken: ct);
            while (!ct.IsCancellationRequested)
            {
                await Task.Delay(LeaseInterval, ct);
                var patch = new { spec = new { renewTime = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'") } };
                try { await _client.CoordinationV1.PatchNamespacedLeaseAsync(new V1Patch(patch, V1Patch.PatchType.MergePatch), Name, "kube-node-lease", cancellationToken: ct); }
                catch (Exception e) when (e is k8s.Autorest.HttpOperationException or HttpRequestException) { } // a server restarting
            }
        }
        catch (OperationCanceledException) { }
    }

    async Task ActAsKubeletAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var list = await _client.CoreV1.ListPodForAllNamespacesAsync(fieldSelector: "spec.nodeName=" + Name, cancellationToken: ct);
                foreach (var pod in list.Items) await ReconcileAsync(pod, ct);
                await foreach (var (type, pod) in _client.CoreV1.WatchListPodForAllNamespacesAsync(fieldSelector: "spec.nodeName=" + Name,
                    resourceVersion: list.Metadata.ResourceVersion, cancellationToken: ct))
                    if (type is WatchEventType.Added or WatchEventType.Modified) await ReconcileAsync(pod, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception) { await Task.Delay(200, CancellationToken.None); }
        }
    }

    async Task ReconcileAsync(V1Pod pod, CancellationToken ct)
    {
        var ns = pod.Metadata.NamespaceProperty;
        var name = pod.Metadata.Name;
        try
        {
            if (pod.Metadata.DeletionTimestamp is not null)
            {
                // As a kubelet ends a graceful deletion once the containers stopped: grace 0, for this very pod only.
                await _client.CoreV1.DeleteNamespacedPodAsync(name, ns,
                    new V1DeleteOptions { GracePeriodSeconds = 0, Preconditions = new V1Preconditions { Uid = pod.Metadata.Uid } }, cancellationToken: ct);
                return;
            }
            if (pod.Status?.Phase is "Succeeded" or "Failed") return;
            if (Outcome(pod) is int code)
            {
                await PatchPodAsync(ns, name, Terminated(pod, code), ct);
                return;
            }
            if (pod.Status?.Phase == "Running") return;
            await PatchPodAsync(ns, name, Running(AutoReady, pod), ct);
        }
        catch (k8s.Autorest.HttpOperationException) { }
    }

    Task PatchPodAsync(string ns, string name, object status, CancellationToken ct) =>
        _client.CoreV1.PatchNamespacedPodStatusAsync(new V1Patch(status, V1Patch.PatchType.MergePatch), name, ns, cancellationToken: ct);

    object Running(bool ready, V1Pod? pod)
    {
        var now = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");
        var state = ready ? "True" : "False";
        var ip = $"10.244.{Index}.{Interlocked.Increment(ref _nextIp) % 250 + 2}";
        var containers = (pod?.Spec?.Containers ?? []).Select(c => new
        {
            name = c.Name,
            image = c.Image,
            imageID = c.Image,
            ready,
            started = true,
            restartCount = 0,
            state = new { running = new { startedAt = now } },
        }).ToArray();
        return new
        {
            status = new
            {
                phase = "Running",
                hostIP = "192.0.2." + Index,
                podIP = pod is null ? null : ip,
                startTime = now,
                conditions = new object[]
                {
                    new { type = "Initialized", status = "True", lastTransitionTime = now },
                    new { type = "Ready", status = state, lastTransitionTime = now },
                    new { type = "ContainersReady", status = state, lastTransitionTime = now },
                    new { type = "PodScheduled", status = "True", lastTransitionTime = now },
                },
                containerStatuses = pod is null ? null : containers,
            },
        };
    }

    static object Terminated(V1Pod pod, int code)
    {
        var now = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");
        return new
        {
            status = new
            {
                phase = code == 0 ? "Succeeded" : "Failed",
                startTime = now,
                conditions = new object[]
                {
                    new { type = "Ready", status = "False", lastTransitionTime = now, reason = "PodCompleted" },
                    new { type = "PodScheduled", status = "True", lastTransitionTime = now },
                },
                containerStatuses = (pod.Spec?.Containers ?? []).Select(c => new
                {
                    name = c.Name,
                    image = c.Image,
                    ready = false,
                    restartCount = 0,
                    state = new { terminated = new { exitCode = code, reason = code == 0 ? "Completed" : "Error", finishedAt = now } },
                }).ToArray(),
            },
        };
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await Task.WhenAll(_leaseLoop, _podLoop); } catch (OperationCanceledException) { }
        // A disposed node is a machine taken away: its Node goes too, so the scheduler stops placing pods on it.
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _client.CoreV1.DeleteNodeAsync(Name, cancellationToken: timeout.Token);
        }
        catch (Exception e) when (e is k8s.Autorest.HttpOperationException or HttpRequestException or OperationCanceledException) { }
        _stop.Dispose();
        _heartbeat.Dispose();
    }
}

/// <summary>The simulated nodes of one test, each numbered by <paramref name="nextIndex"/>; disposing stops them and
/// deletes their Node objects, so every test sees only its own.</summary>
public sealed class SimulatedNodes(IKubernetes client, Func<int> nextIndex) : IAsyncDisposable
{
    /// <summary>The nodes started so far, in order.</summary>
    public List<SimulatedNode> All { get; } = [];

    /// <summary>Starts one more node (see <see cref="SimulatedNode.StartAsync"/>).</summary>
    public async Task<SimulatedNode> AddAsync(string name, string cpu = "4", Dictionary<string, string>? labels = null, List<V1Taint>? taints = null)
    {
        var node = await SimulatedNode.StartAsync(client, name, nextIndex(), cpu, labels: labels, taints: taints, ct: TestContext.Current.CancellationToken);
        All.Add(node);
        return node;
    }

    /// <summary>Stops every node and deletes its Node object (one already gone is fine).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var node in All)
        {
            await node.DisposeAsync();
            try { await client.CoreV1.DeleteNodeAsync(node.Name); } catch (k8s.Autorest.HttpOperationException) { }
        }
    }
}
