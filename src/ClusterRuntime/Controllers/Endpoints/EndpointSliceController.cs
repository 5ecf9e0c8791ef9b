// Keeps discovery.k8s.io/v1 EndpointSlices of each selector Service in step with its pods.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;

namespace Appliance.ClusterRuntime.Controllers.Endpoints;

/// <summary>
/// As kube-controller-manager's endpointslice controller: the selected pods' endpoints are grouped by address type
/// and resolved ports, at most <see cref="MaxEndpoints"/> per slice; an endpoint stays in the slice it is in, new
/// ones fill slices with room before a new slice is made, and emptied slices are deleted. A Service with no
/// endpoints keeps one empty placeholder slice. Only slices labelled as managed by this controller are touched.
/// </summary>
public sealed class EndpointSliceController : IController
{
    /// <summary>Most endpoints in one slice (upstream's --max-endpoints-per-slice default).</summary>
    public const int MaxEndpoints = 100;

    /// <summary>The managed-by label value.</summary>
    public const string ManagedBy = "endpointslice-controller.k8s.io";

    /// <summary>Label naming the Service of a slice.</summary>
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    /// <summary>Label naming the controller that manages a slice.</summary>
    public const string ManagedByLabel = "endpointslice.kubernetes.io/managed-by";

    static readonly ApiResource Slices = Obj.Resource("discovery.k8s.io", "endpointslices");
    static readonly ApiResource Services = Obj.Resource("", "services");

    readonly ControllerContext _ctx;
    readonly Informer _services, _pods, _slices;
    readonly WorkQueue _queue;
    readonly SliceExpectations _expected = new();

    /// <summary>Wires the informers.</summary>
    public EndpointSliceController(ControllerContext ctx)
    {
        _ctx = ctx;
        _services = ctx.Informers.For("", "services");
        _pods = ctx.Informers.For("", "pods");
        _slices = ctx.Informers.For("discovery.k8s.io", "endpointslices");
        _queue = new WorkQueue(Name, ctx.Logger(Name), ctx.Clock);
        ServiceQueue.Wire(_services, _pods, _queue);
        _slices.OnChange((old, cur) =>
        {
            var slice = (cur ?? old)!;
            if (Meta.Label(slice, ManagedByLabel) == ManagedBy && Meta.Label(slice, ServiceNameLabel) is { } svc)
                _queue.Add(Informer.KeyOf(Meta.Namespace(slice), svc));
        });
    }

    /// <inheritdoc />
    public string Name => "endpointslice-controller";

    /// <inheritdoc />
    public Task RunAsync(CancellationToken ct) => _queue.RunAsync(2, SyncAsync, ct);

    async Task SyncAsync(string key, CancellationToken ct)
    {
        var (ns, name) = Informer.SplitKey(key);
        if (!_expected.Satisfied(key, _slices))
        {
            _queue.AddAfter(key, TimeSpan.FromMilliseconds(50)); // our last writes are not in the cache yet
            return;
        }
        var svc = _services.Get(key);
        var existing = _slices.ByIndex(SharedInformers.ByNamespace, ns ?? "")
            .Where(s => Meta.Label(s, ServiceNameLabel) == name && Meta.Label(s, ManagedByLabel) == ManagedBy)
            .OrderBy(s => Meta.Name(s), StringComparer.Ordinal).ToList();
        if (svc is not null && !PodEndpoints.HasSelector(svc)) return;
        var writes = new SliceWrites(_ctx.Store, ns!, _expected.Start(key));
        try
        {
            if (svc is null || Obj.Str(svc, "spec", "type") == "ExternalName" || Obj.IsDeleting(svc))
            {
                foreach (var slice in existing) await writes.DeleteAsync(slice, ct);
                return;
            }
            await ReconcileAsync(svc, existing, writes, ct);
        }
        catch (ApiException e) when (e.Code != 409 && e.Code != 404 && svc is not null)
        {
            _ctx.Events.Record(svc, EventRecorder.Warning, "FailedToUpdateEndpointSlices",
                $"Error updating Endpoint Slices for Service {key}: {e.Message}", Name);
            throw;
        }
        finally
        {
            _expected.Finish(key, writes);
        }
    }

    async Task ReconcileAsync(JsonObject svc, List<JsonObject> existing, SliceWrites writes, CancellationToken ct)
    {
        var publishNotReady = Obj.Bool(svc, "spec", "publishNotReadyAddresses") == true;
        var groups = new Dictionary<string, (string AddressType, JsonArray Ports, Dictionary<string, JsonObject> Endpoints)>(StringComparer.Ordinal);
        foreach (var pod in ServiceQueue.Selected(_pods, svc))
        {
            if (!PodEndpoints.Counts(pod, includeTerminating: true)) continue;
            var ip = PodEndpoints.Ip(pod)!;
            var ports = new JsonArray(PodEndpoints.Ports(svc, pod).Select(p => (JsonNode)p).ToArray());
            var type = PodEndpoints.AddressType(ip);
            var groupKey = type + " " + PortsKey(ports);
            if (!groups.TryGetValue(groupKey, out var group)) groups[groupKey] = group = (type, ports, new(StringComparer.Ordinal));
            group.Endpoints[Informer.KeyOf(pod)] = Endpoint(svc, pod, ip, publishNotReady);
        }

        var placeholder = groups.Count == 0;
        var kept = new HashSet<JsonObject>(ReferenceEqualityComparer.Instance);
        foreach (var (groupKey, group) in groups.OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var mine = existing.Where(s => GroupKey(s) == groupKey).ToList();
            var placed = new HashSet<string>(StringComparer.Ordinal);
            var plans = new List<(JsonObject? Slice, List<string> Keys)>();
            foreach (var slice in mine)
            {
                // An endpoint stays in the slice that has it, so a change touches as few slices as it can.
                var keys = Obj.Items(slice, "endpoints").Select(EndpointKey).Where(k => k is not null && group.Endpoints.ContainsKey(k) && placed.Add(k)).Select(k => k!).ToList();
                plans.Add((slice, keys));
            }
            var remaining = new Queue<string>(group.Endpoints.Keys.Where(k => !placed.Contains(k)).OrderBy(k => k, StringComparer.Ordinal));
            foreach (var plan in plans)
                while (plan.Keys.Count < MaxEndpoints && remaining.Count > 0) plan.Keys.Add(remaining.Dequeue());
            while (remaining.Count > 0)
            {
                var keys = new List<string>();
                while (keys.Count < MaxEndpoints && remaining.Count > 0) keys.Add(remaining.Dequeue());
                plans.Add((null, keys));
            }
            foreach (var (slice, keys) in plans)
            {
                if (keys.Count == 0) continue;
                var endpoints = new JsonArray(keys.OrderBy(k => k, StringComparer.Ordinal).Select(k => (JsonNode)group.Endpoints[k].DeepClone()).ToArray());
                var desired = Desired(svc, group.AddressType, group.Ports.DeepClone().AsArray(), endpoints);
                if (slice is not null) kept.Add(slice);
                await writes.PutAsync(slice, desired, ct);
            }
        }
        if (placeholder)
        {
            var slot = existing.FirstOrDefault();
            if (slot is not null) kept.Add(slot);
            await writes.PutAsync(slot, Desired(svc, "IPv4", null, new JsonArray()), ct);
        }
        foreach (var slice in existing.Where(s => !kept.Contains(s))) await writes.DeleteAsync(slice, ct);
    }

    static JsonObject Endpoint(JsonObject svc, JsonObject pod, string ip, bool publishNotReady)
    {
        var serving = PodState.IsReady(pod);
        var terminating = Obj.IsDeleting(pod);
        var ep = new JsonObject
        {
            ["addresses"] = new JsonArray(ip),
            ["conditions"] = new JsonObject
            {
                ["ready"] = publishNotReady || (serving && !terminating),
                ["serving"] = serving,
                ["terminating"] = terminating,
            },
        };
        if (PodEndpoints.Hostname(pod, svc) is { } host) ep["hostname"] = host;
        ep["targetRef"] = PodEndpoints.TargetRef(pod);
        if (Obj.Str(pod, "spec", "nodeName") is { Length: > 0 } node) ep["nodeName"] = node;
        return ep;
    }

    JsonObject Desired(JsonObject svc, string addressType, JsonArray? ports, JsonArray endpoints)
    {
        var labels = PodEndpoints.LabelsFrom(svc);
        labels[ServiceNameLabel] = Meta.Name(svc);
        labels[ManagedByLabel] = ManagedBy;
        var generate = Meta.Name(svc)!;
        if (generate.Length > 57) generate = generate[..57];
        return new JsonObject
        {
            ["apiVersion"] = "discovery.k8s.io/v1",
            ["kind"] = "EndpointSlice",
            ["metadata"] = new JsonObject
            {
                ["generateName"] = generate + "-",
                ["namespace"] = Meta.Namespace(svc),
                ["labels"] = labels,
                ["ownerReferences"] = new JsonArray(Obj.OwnerRef(svc, Services)),
            },
            ["addressType"] = addressType,
            ["endpoints"] = endpoints,
            ["ports"] = ports,
        };
    }

    static string GroupKey(JsonObject slice) => (Obj.Str(slice, "addressType") ?? "") + " " + PortsKey(Obj.At(slice, "ports") as JsonArray);

    static string PortsKey(JsonArray? ports) => string.Join(";", (ports ?? []).OfType<JsonObject>().Select(p =>
        $"{Obj.Str(p, "name")}|{Obj.Int(p, 0, "port")}|{Obj.Str(p, "protocol")}|{Obj.Str(p, "appProtocol")}"));

    static string? EndpointKey(JsonObject endpoint) =>
        Obj.Str(endpoint, "targetRef", "name") is { } name ? Informer.KeyOf(Obj.Str(endpoint, "targetRef", "namespace"), name) : null;
}
