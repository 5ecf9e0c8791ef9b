// The kubelet's pod loop: CNI config from the Node's podCIDR, a watch on this node's pods, one worker per pod UID.
using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.Cri;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Kubelet;

/// <summary>
/// Runs the pods bound to <see cref="KubeletOptions.NodeName"/> on CRI. Pods come from a list+watch with
/// <c>fieldSelector=spec.nodeName=NODE</c>; every <see cref="KubeletOptions.Resync"/> each worker syncs again and CRI
/// sandboxes of pods the API no longer has are removed.
/// </summary>
internal sealed class Kubelet(ApiClient api, CriConnection cri, KubeletOptions options, ILogger logger, IProbeResults? probes = null)
{
    readonly ConcurrentDictionary<string, (PodWorker Worker, Task Run)> _workers = new();
    readonly IProbeResults _probes = probes ?? new NoProbes();
    volatile bool _listed;

    /// <summary>Env, mounts and volumes of the pods (<see cref="PodInputs"/>; default: literal env only, no volumes).</summary>
    internal IContainerInputs Inputs { get; init; } = new LiteralEnvOnly();

    /// <summary>Where the pods' Events go (run by <see cref="RunAsync"/>; shared with the probes); null: none.</summary>
    internal EventRecorder? Events { get; init; }

    /// <summary>Waits for the Node's podCIDR, writes the CNI config, then syncs pods until <paramref name="ct"/> ends.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        _stop = ct;
        _probes.Changed = uid => { if (_workers.TryGetValue(uid, out var w)) w.Worker.Kick(); };
        var events = Events?.RunAsync(ct) ?? Task.CompletedTask;
        try { await WriteCniConfigAsync(ct); }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { await events; return; }
        var watch = new ListWatch(api, "/api/v1/pods", "fieldSelector=" + Uri.EscapeDataString("spec.nodeName=" + options.NodeName), "kubelet: pod watch", logger);
        var resync = ResyncLoopAsync(ct);
        try
        {
            await watch.RunAsync(OnList, OnEvent, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        try { await resync; } catch (OperationCanceledException) { }
        foreach (var (_, run) in _workers.Values)
            try { await run; } catch (OperationCanceledException) { }
        await events;
    }

    async Task WriteCniConfigAsync(CancellationToken ct)
    {
        while (true)
        {
            try
            {
                var node = await api.GetAsync($"/api/v1/nodes/{options.NodeName}", ct);
                if (Obj.Str(node, "spec", "podCIDR") is { Length: > 0 } cidr)
                {
                    var path = CniConfig.Write(options.CniConfDir, cidr, options.CniMasquerade, options.CniIpamDir);
                    logger.LogInformation("CNI: pods get addresses from {Cidr} ({Path})", cidr, path);
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or ApiStatusException)
            {
                logger.LogWarning("kubelet: reading node {Node}: {Error}", options.NodeName, e.Message);
            }
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
        }
    }

    void OnList(IReadOnlyList<JsonObject> pods)
    {
        var seen = new HashSet<string>();
        foreach (var pod in pods)
        {
            seen.Add(Obj.Uid(pod));
            Worker(Obj.Uid(pod)).Update(pod);
        }
        foreach (var uid in _workers.Keys.Where(u => !seen.Contains(u))) Worker(uid).Update(null);
        _listed = true;
    }

    void OnEvent(string type, JsonObject pod)
    {
        var uid = Obj.Uid(pod);
        if (type == "DELETED") { if (_workers.ContainsKey(uid)) Worker(uid).Update(null); }
        else Worker(uid).Update(pod);
    }

    PodWorker Worker(string uid)
    {
        // A finished worker's entry is replaced: a later sandbox with that UID gets a fresh one.
        if (_workers.TryGetValue(uid, out var w) && !w.Run.IsCompleted) return w.Worker;
        var worker = new PodWorker(uid, api, cri, options, Inputs, _probes, logger) { Events = Events };
        _workers[uid] = (worker, Task.Run(() => worker.RunAsync(_stop)));
        return worker;
    }

    CancellationToken _stop;

    /// <summary>Every resync: kick each worker; give sandboxes and volumes of pods the API lacks a worker that removes them.</summary>
    async Task ResyncLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(options.Resync, ct);
            foreach (var (worker, _) in _workers.Values) worker.Kick();
            if (!_listed) continue;
            try
            {
                var sandboxes = await cri.Runtime.ListPodSandboxAsync(new(), cancellationToken: ct);
                foreach (var s in sandboxes.Items)
                    if (s.Labels.TryGetValue(CriConfigs.PodUidLabel, out var uid) && !_workers.ContainsKey(uid))
                        Worker(uid).Update(null);
            }
            catch (RpcException e)
            {
                logger.LogWarning("kubelet: listing sandboxes: {Error}", e.Status.Detail);
            }
            // Volumes left by pods that went while the agent was down (or whose sandboxes went before their volumes).
            foreach (var uid in Inputs.Pods())
                if (!_workers.ContainsKey(uid)) Worker(uid).Update(null);
            foreach (var (uid, w) in _workers)
                if (w.Run.IsCompleted) _workers.TryRemove(uid, out _);
        }
    }
}
