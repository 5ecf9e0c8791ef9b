// The kubelet's IProbeResults: one loop per probe of each running container, results kept by container ID.
using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Cri;
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Probes;

/// <summary>
/// Probes the containers the pod worker reports through <see cref="Started"/>. Each probe runs every periodSeconds
/// once initialDelaySeconds have passed since the container started; liveness and readiness wait until the startup
/// probe succeeded. A failed startup or liveness probe (failureThreshold in a row) makes <see cref="LivenessFailed"/>
/// true once and ends that container's probing; the worker kills it and restartPolicy applies. A loop also ends when
/// CRI says the container no longer runs.
/// </summary>
internal sealed class ProbeManager : IProbeResults, IDisposable
{
    readonly CriConnection _cri;
    readonly ILogger _logger;
    readonly Prober _prober;
    readonly TimeProvider _time;
    readonly DateTimeOffset _since;
    readonly CancellationTokenSource _stop = new();
    readonly ConcurrentDictionary<string, Watched> _containers = new();
    readonly EventRecorder? _events;
    readonly string _nodeIp;

    /// <summary>
    /// Probes through <paramref name="cri"/>; failures become Events of the pod through <paramref name="events"/> (the
    /// kubelet's recorder, run by <see cref="Kubelet"/>; null: logged only); network probes connect from
    /// <paramref name="netnsPath"/> (null: this process's namespace); a hostNetwork pod is probed on
    /// <paramref name="nodeIp"/>.
    /// </summary>
    public ProbeManager(CriConnection cri, ILogger logger, string nodeIp, EventRecorder? events = null, string? netnsPath = null, TimeProvider? time = null)
    {
        (_cri, _logger, _nodeIp, _time, _events) = (cri, logger, nodeIp, time ?? TimeProvider.System, events);
        _prober = new Prober(cri, new ProbeNetwork(netnsPath));
        _since = _time.GetUtcNow();
    }

    sealed class Watched(JsonObject pod, string label, JsonObject container, JsonObject source)
    {
        public JsonObject Pod { get; } = pod;
        public JsonObject Source { get; } = source;
        public string PodUid { get; } = Obj.Uid(pod);
        public string Label { get; } = label;
        public JsonObject Container { get; } = container;
        public string? FieldPath { get; } = CriConfigs.FieldPath(source, Obj.Str(container, "name"));
        public CancellationTokenSource Stop { get; } = new();
        public ProbeCounter? Startup { get; set; }
        public ProbeCounter? Readiness { get; set; }
        public volatile bool Kill;
    }

    /// <inheritdoc />
    public Action<string>? Changed { get; set; }

    /// <inheritdoc />
    public void Started(JsonObject pod, string containerName, string containerId)
    {
        if (_containers.ContainsKey(containerId)) return;
        if (Obj.Items(pod, "spec", "containers").FirstOrDefault(c => Obj.Str(c, "name") == containerName) is not { } container) return;
        var probes = new[] { ProbeKind.Startup, ProbeKind.Liveness, ProbeKind.Readiness }
            .Select(k => ProbeSpec.Of(container, k)).OfType<ProbeSpec>().ToList();
        if (probes.Count == 0) return;
        var label = $"{Obj.Str(pod, "metadata", "namespace")}/{Obj.Str(pod, "metadata", "name")} container {containerName}";
        // Pods from a list carry no kind: the Events' involvedObject gets it here.
        var involved = new JsonObject { ["kind"] = "Pod", ["apiVersion"] = "v1", ["metadata"] = pod["metadata"]?.DeepClone() };
        var w = new Watched(involved, label, container, pod);
        foreach (var p in probes)
        {
            if (p.Kind == ProbeKind.Startup) w.Startup = new ProbeCounter(1, p.FailureThreshold, null);
            if (p.Kind == ProbeKind.Readiness) w.Readiness = new ProbeCounter(p.SuccessThreshold, p.FailureThreshold, false);
        }
        if (!_containers.TryAdd(containerId, w)) return;
        _ = Task.Run(() => WatchAsync(containerId, w, probes), CancellationToken.None);
    }

    /// <inheritdoc />
    public void Stopped(string containerId)
    {
        if (_containers.TryRemove(containerId, out var w)) w.Stop.Cancel();
    }

    /// <inheritdoc />
    public bool? Ready(string containerId) => _containers.TryGetValue(containerId, out var w) && w.Readiness is { } r ? r.Result == true : null;

    /// <inheritdoc />
    public bool? StartupDone(string containerId) => _containers.TryGetValue(containerId, out var w) && w.Startup is { } s ? s.Result == true : null;

    /// <inheritdoc />
    public bool LivenessFailed(string containerId)
    {
        if (!_containers.TryGetValue(containerId, out var w) || !w.Kill) return false;
        w.Kill = false;
        return true;
    }

    async Task WatchAsync(string id, Watched w, List<ProbeSpec> probes)
    {
        // Disposed when the loops end, so a container's probes leave no registration on the manager's token.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, w.Stop.Token);
        var ct = linked.Token;
        try
        {
            var (startedAt, podIp) = await TargetAsync(id, w, ct);
            // A container already running when this kubelet started (adopted) counts as started, as upstream does.
            if (startedAt < _since && w.Startup is { } s && s.Record(true)) Changed?.Invoke(w.PodUid);
            await Task.WhenAll(probes.Select(p => LoopAsync(id, w, p, startedAt, podIp, ct)));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound) { }
        catch (Exception e)
        {
            _logger.LogWarning("probes of {Container} ended: {Error}", w.Label, e is RpcException r ? r.Status.Detail : e.Message);
        }
        finally
        {
            // The loops end when the container is gone: forget it unless the worker still has to read a kill.
            if (!w.Kill) Stopped(id);
        }
    }

    /// <summary>When the container started, and its pod's IP (from the sandbox's CRI status).</summary>
    async Task<(DateTimeOffset StartedAt, string PodIp)> TargetAsync(string id, Watched w, CancellationToken ct)
    {
        var status = (await _cri.Runtime.ContainerStatusAsync(new() { ContainerId = id }, cancellationToken: ct)).Status;
        var container = (await _cri.Runtime.ListContainersAsync(new() { Filter = new() { Id = id } }, cancellationToken: ct)).Containers.Single();
        var sandbox = (await _cri.Runtime.PodSandboxStatusAsync(new() { PodSandboxId = container.PodSandboxId }, cancellationToken: ct)).Status;
        var ip = CriConfigs.PodIp(w.Source, sandbox, _nodeIp);
        return (DateTimeOffset.FromUnixTimeMilliseconds(status.StartedAt / 1_000_000), ip);
    }

    async Task LoopAsync(string id, Watched w, ProbeSpec probe, DateTimeOffset startedAt, string podIp, CancellationToken ct)
    {
        var counter = probe.Kind switch
        {
            ProbeKind.Startup => w.Startup!,
            ProbeKind.Readiness => w.Readiness!,
            _ => new ProbeCounter(1, probe.FailureThreshold, true),
        };
        while (!ct.IsCancellationRequested && !w.Kill)
        {
            var status = (await _cri.Runtime.ContainerStatusAsync(new() { ContainerId = id }, cancellationToken: ct)).Status;
            if (status.State != ContainerState.ContainerRunning) return;
            var gated = probe.Kind != ProbeKind.Startup && w.Startup is { Result: not true };
            if (!gated && _time.GetUtcNow() - startedAt >= probe.InitialDelay)
            {
                var outcome = await _prober.RunAsync(probe, w.Container, id, podIp, ct);
                if (!outcome.Success)
                {
                    _logger.LogWarning("{Container}: {Probe} probe failed: {Message}", w.Label, probe.Name, outcome.Message);
                    _events?.Record(w.Pod, EventRecorder.Warning, "Unhealthy", $"{probe.Name} probe failed: {outcome.Message}", "kubelet", w.FieldPath);
                }
                if (counter.Record(outcome.Success))
                {
                    if (probe.Kind != ProbeKind.Readiness && counter.Result == false)
                    {
                        _logger.LogWarning("{Container} failed {Probe} probe, will be restarted", w.Label, probe.Name.ToLowerInvariant());
                        _events?.Record(w.Pod, EventRecorder.Normal, "Killing",
                            $"Container {Obj.Str(w.Container, "name")} failed {probe.Name.ToLowerInvariant()} probe, will be restarted", "kubelet", w.FieldPath);
                        w.Kill = true;
                    }
                    Changed?.Invoke(w.PodUid);
                }
                // A startup probe stops once it succeeded; a failed liveness or startup probe stops the container's probing.
                if (probe.Kind == ProbeKind.Startup && counter.Result == true || w.Kill) return;
            }
            await Task.Delay(probe.Period, _time, ct);
        }
    }

    /// <inheritdoc />
    public async Task<string?> RunHookAsync(JsonObject container, JsonObject handler, string containerId, string podIp, TimeSpan limit, CancellationToken ct)
    {
        var outcome = await _prober.RunActionAsync(handler, container, containerId, podIp, limit, ct, hook: true);
        return outcome.Success ? null : outcome.Message;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _stop.Cancel();
        _prober.Dispose();
    }
}
