// Where a pod's inputs (env, volumes) and probes plug into the pod worker: one interface each, with a default.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Appliance.ClusterRuntime.Agent.Kubelet.Env;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Agent.Kubelet;

/// <summary>
/// What a container gets besides its spec's literal fields: environment, mounts, and its command and args with
/// <c>$(VAR)</c> expanded (null: the spec's, unexpanded).
/// </summary>
internal sealed record ContainerInputs(IReadOnlyList<KeyValue> Env, IReadOnlyList<Mount> Mounts,
    IReadOnlyList<string>? Command = null, IReadOnlyList<string>? Args = null);

/// <summary>
/// A pod's inputs on this node: each container's environment (env, envFrom, valueFrom) and volume mounts, resolved
/// before CreateContainer; the pod's volumes kept in step on every sync and removed with the pod. A
/// <see cref="Volumes.VolumeSetupException"/> leaves the container waiting <c>ContainerCreating</c>, any other exception
/// <c>CreateContainerConfigError</c>, with the exception's message.
/// </summary>
internal interface IContainerInputs
{
    /// <summary>
    /// Sets up the pod's volumes (idempotent) and returns the container's inputs. <paramref name="facts"/> is what the
    /// node knows that the pod object may not say yet: the sandbox's IPs, the node's.
    /// </summary>
    Task<ContainerInputs> ResolveAsync(JsonObject pod, JsonObject container, PodFacts facts, CancellationToken ct);

    /// <summary>Every sync of a live pod: rewrites volumes whose sources changed (nothing before the first set-up).</summary>
    Task SyncAsync(JsonObject pod, PodFacts facts, CancellationToken ct);

    /// <summary>The pod is gone and its sandboxes removed: its volumes go (tmpfs unmounted, directory deleted).</summary>
    void Remove(string uid);

    /// <summary>The UIDs of pods that have volumes on this node (for pods removed while the agent was down).</summary>
    IReadOnlyCollection<string> Pods();
}

/// <summary>The fallback without an API: literal <c>env[].value</c> entries only, no volumes.</summary>
internal sealed class LiteralEnvOnly : IContainerInputs
{
    /// <inheritdoc />
    public Task<ContainerInputs> ResolveAsync(JsonObject pod, JsonObject container, PodFacts facts, CancellationToken ct)
    {
        var env = Obj.Items(container, "env")
            .Where(e => Obj.Str(e, "name") is not null && e["valueFrom"] is null)
            .Select(e => new KeyValue { Key = Obj.Str(e, "name")!, Value = Obj.Str(e, "value") ?? "" })
            .ToList();
        return Task.FromResult(new ContainerInputs(env, []));
    }

    /// <inheritdoc />
    public Task SyncAsync(JsonObject pod, PodFacts facts, CancellationToken ct) => Task.CompletedTask;

    /// <inheritdoc />
    public void Remove(string uid) { }

    /// <inheritdoc />
    public IReadOnlyCollection<string> Pods() => [];
}

/// <summary>
/// Probe results for running containers. The probes work implements this: it learns of containers through
/// <see cref="Started"/>/<see cref="Stopped"/>, and answers <see cref="Ready"/>/<see cref="StartupDone"/>; it calls
/// <see cref="Changed"/>'s target (the pod's UID) to get the pod synced, and a liveness failure is reported by
/// <see cref="LivenessFailed"/> (the worker then kills the container, and restartPolicy applies).
/// </summary>
public interface IProbeResults
{
    /// <summary>A container of pod <paramref name="pod"/> runs with this CRI id (called again on every sync: ignore repeats).</summary>
    void Started(JsonObject pod, string containerName, string containerId);

    /// <summary>The container is gone (exited or removed): stop probing it.</summary>
    void Stopped(string containerId);

    /// <summary>Readiness: null means "no readiness probe" (ready when running and started).</summary>
    bool? Ready(string containerId);

    /// <summary>Startup: null means "no startup probe" (started when running).</summary>
    bool? StartupDone(string containerId);

    /// <summary>True when the liveness probe failed its threshold since the last call for this container.</summary>
    bool LivenessFailed(string containerId);

    /// <summary>Set by the kubelet: call with a pod UID when a result changed, to sync that pod now.</summary>
    Action<string>? Changed { get; set; }

    /// <summary>
    /// Runs a lifecycle handler (postStart, preStop: exec, httpGet or sleep) of <paramref name="container"/> the way
    /// probes run (exec through CRI, HTTP from the probes' network) within <paramref name="limit"/>
    /// (<see cref="Timeout.InfiniteTimeSpan"/>: none). Returns null when it succeeded, else why it failed.
    /// </summary>
    Task<string?> RunHookAsync(JsonObject container, JsonObject handler, string containerId, string podIp, TimeSpan limit, CancellationToken ct);
}

/// <summary>The default: no probes; running containers are started and ready.</summary>
public sealed class NoProbes : IProbeResults
{
    /// <inheritdoc />
    public void Started(JsonObject pod, string containerName, string containerId) { }

    /// <inheritdoc />
    public void Stopped(string containerId) { }

    /// <inheritdoc />
    public bool? Ready(string containerId) => null;

    /// <inheritdoc />
    public bool? StartupDone(string containerId) => null;

    /// <inheritdoc />
    public bool LivenessFailed(string containerId) => false;

    /// <inheritdoc />
    public Action<string>? Changed { get; set; }

    /// <inheritdoc />
    public Task<string?> RunHookAsync(JsonObject container, JsonObject handler, string containerId, string podIp, TimeSpan limit, CancellationToken ct) =>
        Task.FromResult<string?>("lifecycle hooks are run by the probe manager, and this kubelet has none");
}
