// A pod's inputs from the API: env from Env/, volumes from Volumes/, behind the pod worker's IContainerInputs seam.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.Kubelet.Env;
using Appliance.ClusterRuntime.Agent.Kubelet.Volumes;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Agent.Kubelet;

/// <summary>
/// The kubelet's <see cref="IContainerInputs"/>: volumes under <c>{podsDir}/{uid}/volumes/kubernetes.io~{plugin}/{name}</c>
/// (<see cref="PodVolumes"/>), environment from <see cref="EnvResolver"/>, ConfigMaps and Secrets read from the API on
/// each call (<see cref="ApiPodObjects"/>). The node's <c>status.allocatable</c> is read only for pods that use a
/// <c>resourceFieldRef</c> (it stands in for an unset limit).
/// </summary>
internal sealed class PodInputs : IContainerInputs
{
    readonly ApiClient _api;
    readonly string _podsDir;
    readonly PodVolumes _volumes;
    readonly EnvResolver _env;

    /// <summary>Inputs read through <paramref name="api"/>, volumes kept under <paramref name="podsDir"/>.</summary>
    public PodInputs(ApiClient api, string podsDir)
    {
        var objects = new ApiPodObjects(api);
        (_api, _podsDir, _volumes, _env) = (api, podsDir, new PodVolumes(podsDir, objects, new ApiServiceAccountTokens(api)), new EnvResolver(objects));
    }

    /// <inheritdoc />
    public async Task<ContainerInputs> ResolveAsync(JsonObject pod, JsonObject container, PodFacts facts, CancellationToken ct)
    {
        facts = await WithAllocatableAsync(pod, facts, ct);
        // Volumes first, as upstream mounts them for the whole pod before any container's config is made.
        await _volumes.SetUpAsync(pod, facts, ct);
        var env = await _env.ResolveAsync(pod, container, facts, ct);
        var mounts = _volumes.MountsFor(pod, container, env.Env);
        var (command, args) = env.Expand(container);
        return new ContainerInputs([.. env.ToCri()], [.. mounts.Select(m => m.ToCri())], command, args);
    }

    /// <inheritdoc />
    public async Task SyncAsync(JsonObject pod, PodFacts facts, CancellationToken ct)
    {
        // Nothing set up yet (no container created): the first ResolveAsync does it.
        if (!Directory.Exists(_volumes.PodDir(Obj.Uid(pod)))) return;
        await _volumes.SyncAsync(pod, await WithAllocatableAsync(pod, facts, ct), ct);
    }

    /// <inheritdoc />
    public void Remove(string uid) => _volumes.TearDown(uid);

    /// <inheritdoc />
    public IReadOnlyCollection<string> Pods() =>
        Directory.Exists(_podsDir) ? [.. new DirectoryInfo(_podsDir).EnumerateDirectories().Select(d => d.Name)] : [];

    async Task<PodFacts> WithAllocatableAsync(JsonObject pod, PodFacts facts, CancellationToken ct)
    {
        if (facts.Allocatable is not null || !(pod["spec"]?.ToJsonString().Contains("\"resourceFieldRef\":", StringComparison.Ordinal) ?? false)) return facts;
        var node = Obj.Str(pod, "spec", "nodeName") is { Length: > 0 } name ? await _api.GetAsync($"/api/v1/nodes/{Uri.EscapeDataString(name)}", ct) : null;
        return facts with { Allocatable = Obj.Object(node, "status", "allocatable") };
    }
}
