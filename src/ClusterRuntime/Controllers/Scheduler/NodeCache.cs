// The scheduler's view of every node: what is bound or assumed there, kept up to date from the informers.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;

namespace Appliance.ClusterRuntime.Controllers.Scheduler;

/// <summary>One node and the non-terminal pods placed on it (bound, or assumed while their binding is written).</summary>
public sealed class NodeInfo(string name)
{
    /// <summary>The node name.</summary>
    public string Name { get; } = name;
    /// <summary>The Node object, or null while only pods name it.</summary>
    public JsonObject? Node { get; internal set; }
    /// <summary>Allocatable in milli-units by resource name.</summary>
    public Dictionary<string, long> Allocatable { get; internal set; } = [];
    /// <summary>The pods on the node by key.</summary>
    public Dictionary<string, PodFacts> Pods { get; } = new(StringComparer.Ordinal);
    /// <summary>Sum of the pods' requests.</summary>
    public Dictionary<string, long> Requested { get; } = new(StringComparer.Ordinal);
    /// <summary>Sum of the pods' cpu and memory requests with non-zero defaults (scoring).</summary>
    public Dictionary<string, long> NonZeroRequested { get; } = new(StringComparer.Ordinal);
    /// <summary>Pods on the node per controlling owner uid.</summary>
    public Dictionary<string, int> OwnerCounts { get; } = new(StringComparer.Ordinal);

    internal void AddPod(PodFacts pod)
    {
        Pods[pod.Key] = pod;
        PodFacts.Add(Requested, pod.Requests);
        PodFacts.Add(NonZeroRequested, pod.NonZero);
        if (pod.OwnerUid is { } owner) OwnerCounts[owner] = OwnerCounts.GetValueOrDefault(owner) + 1;
    }

    internal void RemovePod(string key)
    {
        if (!Pods.Remove(key, out var pod)) return;
        PodFacts.Subtract(Requested, pod.Requests);
        PodFacts.Subtract(NonZeroRequested, pod.NonZero);
        if (pod.OwnerUid is { } owner && (OwnerCounts[owner] -= 1) == 0) OwnerCounts.Remove(owner);
    }
}

/// <summary>
/// Node usage maintained incrementally from pod and node changes (no list per pod). A pod the scheduler has chosen a
/// node for is <em>assumed</em> there at once, so the next pods see its requests before the informer shows the
/// binding; the informer's version then replaces it, and a failed binding forgets it. Callers hold <see cref="Gate"/>.
/// </summary>
public sealed class NodeCache
{
    readonly Dictionary<string, NodeInfo> _nodes = new(StringComparer.Ordinal);
    readonly Dictionary<string, string> _podNode = new(StringComparer.Ordinal);
    readonly HashSet<string> _assumed = new(StringComparer.Ordinal);

    /// <summary>Lock for every member.</summary>
    public object Gate { get; } = new();

    /// <summary>Nodes that have a Node object, in name order.</summary>
    public IEnumerable<NodeInfo> Nodes => _nodes.Values.Where(n => n.Node is not null).OrderBy(n => n.Name, StringComparer.Ordinal);

    /// <summary>Number of nodes with a Node object.</summary>
    public int NodeCount => _nodes.Values.Count(n => n.Node is not null);

    /// <summary>Records a node's current object.</summary>
    public void SetNode(JsonObject node)
    {
        var info = Info(Meta.Name(node)!);
        info.Node = node;
        info.Allocatable = (Obj.Object(node, "status", "allocatable") ?? [])
            .ToDictionary(p => p.Key, p => Quantity.Milli(p.Value), StringComparer.Ordinal);
    }

    /// <summary>Forgets a deleted node (its pods stay counted until they go).</summary>
    public void RemoveNode(string name)
    {
        if (!_nodes.TryGetValue(name, out var info)) return;
        info.Node = null;
        if (info.Pods.Count == 0) _nodes.Remove(name);
    }

    /// <summary>Applies a pod change from the informer.</summary>
    public void OnPod(JsonObject? old, JsonObject? cur)
    {
        var key = Informer.KeyOf((cur ?? old)!);
        var node = cur is null ? null : Obj.Str(cur, "spec", "nodeName");
        if (cur is null || string.IsNullOrEmpty(node) || PodState.IsTerminal(cur))
        {
            // An unbound pod can still be assumed (its binding not yet seen): keep that unless the pod is gone.
            if (cur is not null && string.IsNullOrEmpty(node) && _assumed.Contains(key)) return;
            Remove(key);
            return;
        }
        Remove(key);
        Place(node, PodFacts.Of(cur));
    }

    /// <summary>True while <paramref name="key"/> is assumed (its binding is being written).</summary>
    public bool IsAssumed(string key) => _assumed.Contains(key);

    /// <summary>Places <paramref name="pod"/> on <paramref name="node"/> before its binding is stored.</summary>
    public void Assume(PodFacts pod, string node)
    {
        Remove(pod.Key);
        Place(node, pod);
        _assumed.Add(pod.Key);
    }

    /// <summary>Undoes <see cref="Assume"/> after a failed binding (no-op once the informer confirmed the pod).</summary>
    public void Forget(string key)
    {
        if (_assumed.Contains(key)) Remove(key);
    }

    void Place(string node, PodFacts pod)
    {
        Info(node).AddPod(pod);
        _podNode[pod.Key] = node;
    }

    void Remove(string key)
    {
        _assumed.Remove(key);
        if (!_podNode.Remove(key, out var node) || !_nodes.TryGetValue(node, out var info)) return;
        info.RemovePod(key);
        if (info.Node is null && info.Pods.Count == 0) _nodes.Remove(node);
    }

    NodeInfo Info(string name)
    {
        if (!_nodes.TryGetValue(name, out var info)) _nodes[name] = info = new NodeInfo(name);
        return info;
    }
}
