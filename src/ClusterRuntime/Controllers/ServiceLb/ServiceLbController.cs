// Writes status.loadBalancer.ingress of LoadBalancer Services: the node addresses that serve them (K3s's ServiceLB).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.ServiceLb;

/// <summary>
/// ServiceLB without its DaemonSet: the agents' proxies already open a LoadBalancer port on the addresses in
/// <c>status.loadBalancer.ingress</c>, so placing a Service is choosing those addresses (<see cref="LbPlacements"/>).
/// Placement is global (an earlier Service's ports decide where a later one fits), so every change of a Service, Node or
/// EndpointSlice queues one pass over all of them, which writes only the statuses that differ, through the status
/// subresource. A Service no node can take because its port is held gets a <c>PortInUse</c> Warning naming the port
/// and the holder, once per change of that reason; a Service that is no longer of type LoadBalancer loses its ingress.
/// </summary>
public sealed class ServiceLbController : IController
{
    /// <summary>Reason of the Warning for a Service kept pending by a taken port.</summary>
    public const string PortInUse = "PortInUse";

    /// <summary>Reason of the Normal event when the ingress addresses change (ServiceLB's).</summary>
    public const string UpdatedIngressIp = "UpdatedIngressIP";

    const string AllKey = "*";
    static readonly ApiResource Services = Obj.Resource("", "services");

    readonly ControllerContext _ctx;
    readonly Informer _services, _nodes, _slices;
    readonly WorkQueue _queue;
    // Per Service: the PortInUse message last recorded, and the status last written with the resourceVersion it was
    // written over (so a pass that runs before the cache sees the write neither writes nor announces it again).
    readonly Dictionary<string, string> _warned = new(StringComparer.Ordinal);
    readonly Dictionary<string, (string Status, string? OverVersion)> _written = new(StringComparer.Ordinal);

    /// <summary>Wires the informers.</summary>
    public ServiceLbController(ControllerContext ctx)
    {
        _ctx = ctx;
        _services = ctx.Informers.For(Services);
        _nodes = ctx.Informers.For("", "nodes");
        _slices = ctx.Informers.For("discovery.k8s.io", "endpointslices");
        _queue = new WorkQueue(Name, ctx.Logger(Name), ctx.Clock);
        _services.OnChange((_, _) => _queue.Add(AllKey));
        _nodes.OnChange((_, _) => _queue.Add(AllKey));
        _slices.OnChange((_, _) => _queue.Add(AllKey));
    }

    /// <inheritdoc />
    public string Name => "service-lb-controller";

    /// <inheritdoc />
    public Task RunAsync(CancellationToken ct)
    {
        _queue.Add(AllKey);
        return _queue.RunAsync(1, SyncAsync, ct);
    }

    async Task SyncAsync(string _, CancellationToken ct)
    {
        var services = _services.List();
        var placements = LbPlacements.Place(services, _nodes.List(), _slices.List());
        foreach (var svc in services)
        {
            var key = Informer.KeyOf(svc);
            if (placements.TryGetValue(key, out var placement))
            {
                await WriteAsync(svc, key, LbPlacements.Status(placement), ct);
                Warn(svc, key, placement);
            }
            else if (Obj.Str(svc, "spec", "type") != "LoadBalancer" && Obj.Items(svc, "status", "loadBalancer", "ingress").Any())
                await WriteAsync(svc, key, new JsonObject(), ct); // no longer a LoadBalancer
            else _warned.Remove(key);
        }
        var present = services.Select(Informer.KeyOf).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _written.Keys.Concat(_warned.Keys).Where(k => !present.Contains(k)).ToList())
        {
            _written.Remove(gone);
            _warned.Remove(gone);
        }
    }

    async Task WriteAsync(JsonObject svc, string key, JsonObject desired, CancellationToken ct)
    {
        var text = desired.ToJsonString();
        var version = Meta.Str(svc, "resourceVersion");
        if ((Obj.Object(svc, "status", "loadBalancer")?.ToJsonString() ?? "{}") == text) return;
        if (_written.TryGetValue(key, out var last) && last.Status == text && last.OverVersion == version) return;
        var (ns, name) = Informer.SplitKey(key);
        await _ctx.Store.UpdateAsync(Services, ns, name, cur =>
        {
            Obj.Ensure(cur, "status")["loadBalancer"] = desired.DeepClone();
            return cur;
        }, true, ct);
        _written[key] = (text, version);
        var ips = Obj.Items(desired, "ingress").Select(i => Obj.Str(i, "ip")).ToList();
        if (ips.Count > 0)
            _ctx.Events.Record(svc, EventRecorder.Normal, UpdatedIngressIp, "LoadBalancer Ingress IP addresses updated: " + string.Join(", ", ips), Name);
    }

    void Warn(JsonObject svc, string key, LbPlacement placement)
    {
        if (placement.Ingress.Count > 0 || placement.TakenPort is null)
        {
            _warned.Remove(key);
            return;
        }
        var message = $"Unable to place the load balancer on any node: port {placement.TakenPort} is already in use by {placement.TakenBy}";
        if (_warned.TryGetValue(key, out var last) && last == message) return;
        _warned[key] = message;
        _ctx.Events.Record(svc, EventRecorder.Warning, PortInUse, message, Name);
    }
}
