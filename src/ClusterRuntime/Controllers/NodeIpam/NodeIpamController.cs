// Gives every Node a pod CIDR (spec.podCIDR/podCIDRs) from --cluster-cidr, one block per node.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.NodeIpam;

/// <summary>
/// As kube-controller-manager's node IPAM range allocator: at the start of a term every Node's stored podCIDR marks
/// its block taken (so blocks survive restarts and leader changes: they live in the Nodes); a Node without one gets
/// the lowest free block, written on the Node's resourceVersion; a deleted Node's block is free again. When the range
/// is full the Node gets a <c>CIDRNotAvailable</c> event and waits for a block to be freed.
/// </summary>
public sealed class NodeIpamController : IController
{
    static readonly ApiResource Nodes = Obj.Resource("", "nodes");

    readonly ControllerContext _ctx;
    readonly Informer _nodes;
    readonly WorkQueue _queue;
    readonly CidrSet _set;
    readonly object _gate = new();

    /// <summary>Wires the Node informer.</summary>
    public NodeIpamController(ControllerContext ctx)
    {
        _ctx = ctx;
        _set = new CidrSet(ctx.Options.ClusterCidr, ctx.Options.NodeCidrMaskSize);
        _nodes = ctx.Informers.For(Nodes);
        _queue = new WorkQueue(Name, ctx.Logger(Name), ctx.Clock);
        _nodes.OnChange((old, cur) =>
        {
            if (cur is not null)
            {
                _queue.Add(Informer.KeyOf(cur));
                return;
            }
            lock (_gate) _set.Release(Api.Storage.Meta.Name(old!)!);
            foreach (var waiting in _nodes.List().Where(n => PodCidr(n) is null)) _queue.Add(Informer.KeyOf(waiting));
        });
    }

    /// <inheritdoc />
    public string Name => "node-ipam-controller";

    /// <inheritdoc />
    public Task RunAsync(CancellationToken ct)
    {
        lock (_gate)
            foreach (var node in _nodes.List())
                if (PodCidr(node) is { } cidr && _set.IndexOf(cidr) is { } index) _set.Occupy(index, Api.Storage.Meta.Name(node)!);
        return _queue.RunAsync(1, SyncAsync, ct);
    }

    async Task SyncAsync(string name, CancellationToken ct)
    {
        var node = _nodes.Get(name);
        if (node is null)
        {
            lock (_gate) _set.Release(name);
            return;
        }
        if (PodCidr(node) is { } cidr)
        {
            bool ok = true;
            lock (_gate) if (_set.IndexOf(cidr) is { } index) ok = _set.Occupy(index, name);
            if (!ok) _ctx.Logger(Name).LogWarning("node {Node} has podCIDR {Cidr}, which another node holds", name, cidr);
            return;
        }
        long? block;
        lock (_gate) block = _set.Allocate(name);
        if (block is null)
        {
            _ctx.Events.Record(node, EventRecorder.Normal, "CIDRNotAvailable", $"Node {name} status is now: CIDRNotAvailable", "cidrAllocator");
            _queue.AddAfter(name, TimeSpan.FromSeconds(30));
            return;
        }
        var text = _set.Block(block.Value);
        try
        {
            await _ctx.Store.UpdateAsync(Nodes, null, name, cur =>
            {
                var spec = Obj.Ensure(cur, "spec");
                spec["podCIDR"] = text;
                spec["podCIDRs"] = new JsonArray(text);
                Api.Storage.Meta.Of(cur)["resourceVersion"] = Api.Storage.Meta.Str(node, "resourceVersion");
                return cur;
            }, false, ct);
        }
        catch
        {
            lock (_gate) _set.Release(name);
            throw;
        }
    }

    static string? PodCidr(JsonObject node) =>
        Obj.Str(node, "spec", "podCIDR") is { Length: > 0 } cidr ? cidr
        : Obj.At(node, "spec", "podCIDRs") is JsonArray { Count: > 0 } a && a[0] is JsonValue v && v.TryGetValue<string>(out var first) ? first : null;
}
