// Where the volumes and probes work plugs into the pod worker: one interface each, with the default used until then.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Agent.Kubelet;

/// <summary>What a container gets besides its spec's literal fields: environment and mounts.</summary>
internal sealed record ContainerInputs(IReadOnlyList<KeyValue> Env, IReadOnlyList<Mount> Mounts);

/// <summary>
/// Resolves a container's environment (env, envFrom, valueFrom) and volume mounts before CreateContainer. The
/// volumes work implements this; an exception fails that container's start with CreateContainerConfigError and the
/// exception's message.
/// </summary>
internal interface IContainerInputs
{
    /// <summary>Prepares the pod's volume directories (called before each container is created) and returns its inputs.</summary>
    Task<ContainerInputs> ResolveAsync(JsonObject pod, JsonObject container, CancellationToken ct);
}

/// <summary>The default: literal <c>env[].value</c> entries only, no mounts.</summary>
internal sealed class LiteralEnvOnly : IContainerInputs
{
    /// <inheritdoc />
    public Task<ContainerInputs> ResolveAsync(JsonObject pod, JsonObject container, CancellationToken ct)
    {
        var env = Obj.Items(container, "env")
            .Where(e => Obj.Str(e, "name") is not null && e["valueFrom"] is null)
            .Select(e => new KeyValue { Key = Obj.Str(e, "name")!, Value = Obj.Str(e, "value") ?? "" })
            .ToList();
        return Task.FromResult(new ContainerInputs(env, []));
    }
}

/// <summary>
/// Probe results for running containers. The probes work implements this: it learns of containers through
/// <see cref="Started"/>/<see cref="Stopped"/>, and answers <see cref="Ready"/>/<see cref="StartupDone"/>; it calls
/// <see cref="Changed"/>'s target (the pod's UID) to get the pod synced, and a liveness failure is reported by
/// <see cref="LivenessFailed"/> (the worker then kills the container, and restartPolicy applies).
/// </summary>
public interface IProbeResults
{
    /// <summary>A container of pod <paramref name="pod"/> started with this CRI id.</summary>
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
}
