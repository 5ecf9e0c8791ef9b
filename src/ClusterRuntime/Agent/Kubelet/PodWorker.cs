// One worker per pod UID: its syncs run one at a time; each sync reads CRI state and moves the pod one step on.
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.Cri;
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Appliance.ClusterRuntime.Agent.Kubelet.Env;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Kubelet;

/// <summary>
/// Keeps one pod's sandbox and containers in line with its spec. Nothing is remembered that CRI does not hold, except
/// image-pull failures and the last status written: a new worker (after an agent restart) adopts what runs.
/// </summary>
internal sealed partial class PodWorker
{
    readonly string _uid;
    readonly ApiClient _api;
    readonly CriConnection _cri;
    readonly KubeletOptions _options;
    readonly IContainerInputs _inputs;
    readonly IProbeResults _probes;
    readonly ILogger _logger;
    readonly Channel<bool> _kicks = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    readonly Dictionary<string, (string Reason, string Message)> _waiting = [];
    readonly Dictionary<string, int> _pullFailures = [];
    volatile JsonObject? _pod;
    JsonObject? _lastPod;
    string? _lastStatus;
    string? _sandboxError;
    PodFacts _facts = PodFacts.None;

    public PodWorker(string uid, ApiClient api, CriConnection cri, KubeletOptions options, IContainerInputs inputs, IProbeResults probes, ILogger logger)
    {
        (_uid, _api, _cri, _options, _inputs, _probes, _logger) = (uid, api, cri, options, inputs, probes, logger);
    }

    /// <summary>Where this pod's Events go (the kubelet's recorder); null: none.</summary>
    public EventRecorder? Events { get; init; }

    /// <summary>
    /// An Event about <paramref name="pod"/> from the kubelet, worded as upstream's kubelet words it; about one of its
    /// containers when <paramref name="container"/> is given (<c>involvedObject.fieldPath</c>).
    /// </summary>
    void Event(JsonObject pod, string type, string reason, string message, string? container = null) =>
        Events?.Record(pod, type, reason, message, "kubelet", CriConfigs.FieldPath(pod, container));

    /// <summary>True once the pod is gone from the API and its sandboxes are removed.</summary>
    public bool Finished { get; private set; }

    /// <summary>The pod as last seen (null: gone from the API); the worker syncs soon.</summary>
    public void Update(JsonObject? pod)
    {
        _pod = pod;
        if (pod is not null) _lastPod = pod;
        Kick();
    }

    /// <summary>Asks for a sync (coalesced with one already pending).</summary>
    public void Kick() => _kicks.Writer.TryWrite(true);

    /// <summary>Runs syncs until <paramref name="ct"/> ends or the pod is finished.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        while (!Finished && await _kicks.Reader.WaitToReadAsync(ct))
        {
            _kicks.Reader.TryRead(out _);
            try
            {
                await SyncAsync(ct);
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // A worker outlives any one failed sync (CRI or API down, a conflict): the next kick tries again.
                _logger.LogWarning("pod {Uid}: sync failed: {Error}", _uid, e is RpcException r ? r.Status.Detail : e.Message);
            }
        }
    }

    async Task SyncAsync(CancellationToken ct)
    {
        var pod = _pod;
        if (pod is null || Obj.IsDeleting(pod))
        {
            await TearDownAsync(pod ?? _lastPod, ct);
            var removed = RemoveInputs();
            if (pod is not null) await DeletePodObjectAsync(pod, ct);
            // A volume that would not unmount keeps the worker: the next resync tries again.
            Finished = pod is null && removed;
            return;
        }
        string sandboxId;
        PodSandboxConfig sandboxConfig;
        try
        {
            (sandboxId, sandboxConfig) = await EnsureSandboxAsync(pod, ct);
            _sandboxError = null;
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Unavailable && !ct.IsCancellationRequested)
        {
            // kubectl shows ContainerCreating; the message says why (e.g. the pause image is not preloaded).
            _sandboxError = $"failed to create the pod sandbox: {e.Status.Detail}";
            Event(pod, EventRecorder.Warning, "FailedCreatePodSandBox", $"Failed to create pod sandbox: {e.Status.Detail}");
            await WriteStatusAsync(pod, new PodSandboxStatus { State = PodSandboxState.SandboxNotready }, [], new(false, false), ct);
            _ = Task.Delay(TimeSpan.FromSeconds(5), ct).ContinueWith(_ => Kick(), TaskScheduler.Default);
            return;
        }
        var sandbox = (await _cri.Runtime.PodSandboxStatusAsync(new() { PodSandboxId = sandboxId }, cancellationToken: ct)).Status;
        _facts = Facts(pod, sandbox);
        await SyncInputsAsync(pod, ct);
        var containers = await ContainersAsync(sandboxId, ct);
        var progress = await ActAsync(pod, sandboxId, sandboxConfig, containers, ct);
        containers = await ContainersAsync(sandboxId, ct);
        await WriteStatusAsync(pod, sandbox, containers, progress, ct);
    }

    /// <summary>The pod and node IPs the downward API shows before the pod's status says them.</summary>
    PodFacts Facts(JsonObject pod, PodSandboxStatus sandbox) => PodIp(pod, sandbox) is { Length: > 0 } ip ? new([ip], [_options.NodeIp]) : new([], [_options.NodeIp]);

    /// <summary>The sandbox's IP, the node's for hostNetwork pods; empty while there is none.</summary>
    string PodIp(JsonObject pod, PodSandboxStatus sandbox) => CriConfigs.PodIp(pod, sandbox, _options.NodeIp);

    /// <summary>Volumes follow their ConfigMaps, Secrets and pod fields on every sync (subPath mounts do not, as upstream).</summary>
    async Task SyncInputsAsync(JsonObject pod, CancellationToken ct)
    {
        try
        {
            await _inputs.SyncAsync(pod, _facts, ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            // The old files stay; a container not yet created reports the same cause when it is.
            _logger.LogWarning("pod {Uid}: updating volumes: {Error}", _uid, e.Message);
        }
    }

    /// <summary>Removes the pod's volumes once its sandboxes are gone; false when one would not go.</summary>
    bool RemoveInputs()
    {
        try
        {
            _inputs.Remove(_uid);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("pod {Uid}: removing volumes: {Error}", _uid, e.Message);
            return false;
        }
    }

    /// <summary>The ready sandbox of this pod, or a new one (older, not-ready sandboxes are removed first).</summary>
    async Task<(string Id, PodSandboxConfig Config)> EnsureSandboxAsync(JsonObject pod, CancellationToken ct)
    {
        var sandboxes = await SandboxesAsync(ct);
        var ready = sandboxes.Where(s => s.State == PodSandboxState.SandboxReady).MaxBy(s => s.CreatedAt);
        if (ready is not null) return (ready.Id, CriConfigs.Sandbox(pod, _options, ready.Metadata.Attempt));
        foreach (var old in sandboxes) await RemoveSandboxAsync(old.Id, ct);
        var attempt = sandboxes.Count == 0 ? 0 : sandboxes.Max(s => s.Metadata.Attempt) + 1;
        var config = CriConfigs.Sandbox(pod, _options, attempt);
        Directory.CreateDirectory(config.LogDirectory);
        var id = (await _cri.Runtime.RunPodSandboxAsync(new() { Config = config }, cancellationToken: ct)).PodSandboxId;
        _logger.LogInformation("pod {Ns}/{Name}: sandbox {Id} (attempt {Attempt})", config.Metadata.Namespace, config.Metadata.Name, id[..12], attempt);
        return (id, config);
    }

    async Task<List<PodSandbox>> SandboxesAsync(CancellationToken ct) =>
        [.. (await _cri.Runtime.ListPodSandboxAsync(new() { Filter = new() { LabelSelector = { [CriConfigs.PodUidLabel] = _uid } } }, cancellationToken: ct)).Items];

    /// <summary>Every container of the sandbox with its full status, newest attempt first per name.</summary>
    async Task<Dictionary<string, List<ContainerStatus>>> ContainersAsync(string sandboxId, CancellationToken ct)
    {
        var list = await _cri.Runtime.ListContainersAsync(new() { Filter = new() { PodSandboxId = sandboxId } }, cancellationToken: ct);
        var result = new Dictionary<string, List<ContainerStatus>>();
        foreach (var c in list.Containers)
        {
            var status = (await _cri.Runtime.ContainerStatusAsync(new() { ContainerId = c.Id }, cancellationToken: ct)).Status;
            var name = c.Metadata.Name;
            if (!result.TryGetValue(name, out var l)) result[name] = l = [];
            l.Add(status);
        }
        foreach (var l in result.Values) l.Sort((a, b) => b.Metadata.Attempt.CompareTo(a.Metadata.Attempt));
        return result;
    }

    /// <summary>
    /// Stops the running containers together, each with its preStop hook and the pod's grace period, then stops and
    /// removes every sandbox of the pod.
    /// </summary>
    async Task TearDownAsync(JsonObject? pod, CancellationToken ct)
    {
        var grace = GracePeriod(pod);
        var sandboxes = await SandboxesAsync(ct);
        foreach (var s in sandboxes)
        {
            var list = await _cri.Runtime.ListContainersAsync(new() { Filter = new() { PodSandboxId = s.Id } }, cancellationToken: ct);
            var running = list.Containers.Where(c => c.State == ContainerState.ContainerRunning).ToList();
            var podIp = pod is null || running.Count == 0 ? ""
                : PodIp(pod, (await _cri.Runtime.PodSandboxStatusAsync(new() { PodSandboxId = s.Id }, cancellationToken: ct)).Status);
            await Task.WhenAll(running.Select(c =>
                KillAsync(pod, c.Metadata.Name, c.Id, podIp, grace, $"Stopping container {c.Metadata.Name}", ct)));
            await RemoveSandboxAsync(s.Id, ct);
        }
        if (sandboxes.Count > 0) _logger.LogInformation("pod {Uid}: {Count} sandbox(es) removed", _uid, sandboxes.Count);
    }

    async Task RemoveSandboxAsync(string id, CancellationToken ct)
    {
        await _cri.Runtime.StopPodSandboxAsync(new() { PodSandboxId = id }, cancellationToken: ct);
        await _cri.Runtime.RemovePodSandboxAsync(new() { PodSandboxId = id }, cancellationToken: ct);
    }

    /// <summary>After a graceful stop the kubelet removes the object for good (grace 0), checking it is still this pod.</summary>
    async Task DeletePodObjectAsync(JsonObject pod, CancellationToken ct)
    {
        var body = new JsonObject { ["kind"] = "DeleteOptions", ["apiVersion"] = "v1", ["gracePeriodSeconds"] = 0, ["preconditions"] = new JsonObject { ["uid"] = _uid } };
        await _api.DeleteAsync(PodPath(pod), body, ct);
    }

    static string PodPath(JsonObject pod) => $"/api/v1/namespaces/{Obj.Str(pod, "metadata", "namespace")}/pods/{Obj.Str(pod, "metadata", "name")}";
}
