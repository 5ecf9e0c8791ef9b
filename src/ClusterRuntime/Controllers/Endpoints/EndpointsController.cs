// Keeps the legacy core/v1 Endpoints of each selector Service in step with its pods.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;

namespace Appliance.ClusterRuntime.Controllers.Endpoints;

/// <summary>
/// As kube-controller-manager's endpoint controller: one Endpoints named after the Service, its subsets grouping
/// addresses by resolved ports; ready pods under <c>addresses</c>, the others under <c>notReadyAddresses</c> (all
/// under <c>addresses</c> with <c>publishNotReadyAddresses</c>, which also keeps terminating pods). Deleted with its
/// Service; Services without a selector are left alone.
/// </summary>
public sealed class EndpointsController : IController
{
    static readonly ApiResource EndpointsResource = Obj.Resource("", "endpoints");

    readonly ControllerContext _ctx;
    readonly Informer _services, _pods, _endpoints;
    readonly WorkQueue _queue;
    readonly SliceExpectations _expected = new();

    /// <summary>Wires the informers.</summary>
    public EndpointsController(ControllerContext ctx)
    {
        _ctx = ctx;
        _services = ctx.Informers.For("", "services");
        _pods = ctx.Informers.For("", "pods");
        _endpoints = ctx.Informers.For("", "endpoints");
        _queue = new WorkQueue(Name, ctx.Logger(Name), ctx.Clock);
        ServiceQueue.Wire(_services, _pods, _queue);
        _endpoints.OnChange((old, cur) => _queue.Add(Informer.KeyOf((cur ?? old)!)));
    }

    /// <inheritdoc />
    public string Name => "endpoint-controller";

    /// <inheritdoc />
    public Task RunAsync(CancellationToken ct) => _queue.RunAsync(2, SyncAsync, ct);

    async Task SyncAsync(string key, CancellationToken ct)
    {
        var (ns, name) = Informer.SplitKey(key);
        if (!_expected.Satisfied(key, _endpoints))
        {
            _queue.AddAfter(key, TimeSpan.FromMilliseconds(50));
            return;
        }
        var svc = _services.Get(key);
        var current = _endpoints.Get(key);
        var writes = new SliceWrites(_ctx.Store, ns!, _expected.Start(key), EndpointsResource);
        try
        {
            if (svc is null)
            {
                if (current is not null) await writes.DeleteAsync(current, ct);
                return;
            }
            if (!PodEndpoints.HasSelector(svc) || Obj.Str(svc, "spec", "type") == "ExternalName") return;
            await writes.PutAsync(current, Desired(svc), ct);
        }
        catch (ApiException e) when (e.Code != 409 && e.Code != 404 && svc is not null)
        {
            _ctx.Events.Record(svc, EventRecorder.Warning, "FailedToUpdateEndpoint", $"Failed to update endpoint {key}: {e.Message}", Name);
            throw;
        }
        finally
        {
            _expected.Finish(key, writes);
        }
    }

    JsonObject Desired(JsonObject svc)
    {
        var publishNotReady = Obj.Bool(svc, "spec", "publishNotReadyAddresses") == true;
        var headless = Obj.Str(svc, "spec", "clusterIP") == "None";
        var hasPorts = Obj.Items(svc, "spec", "ports").Any();
        var subsets = new SortedDictionary<string, (JsonArray Ports, List<JsonObject> Ready, List<JsonObject> NotReady)>(StringComparer.Ordinal);
        foreach (var pod in ServiceQueue.Selected(_pods, svc))
        {
            if (!PodEndpoints.Counts(pod, includeTerminating: publishNotReady)) continue;
            var ports = PodEndpoints.Ports(svc, pod);
            foreach (var p in ports.Where(p => Obj.Str(p, "name") == "")) p.Remove("name"); // omitempty in core/v1
            if (ports.Count == 0 && (hasPorts || !headless)) continue;
            var key = string.Join(";", ports.Select(p => p.ToJsonString()));
            if (!subsets.TryGetValue(key, out var subset))
                subsets[key] = subset = (new JsonArray(ports.Select(p => (JsonNode)p).ToArray()), [], []);
            var address = new JsonObject { ["ip"] = PodEndpoints.Ip(pod) };
            if (PodEndpoints.Hostname(pod, svc) is { } host) address["hostname"] = host;
            if (Obj.Str(pod, "spec", "nodeName") is { Length: > 0 } node) address["nodeName"] = node;
            address["targetRef"] = PodEndpoints.TargetRef(pod);
            (publishNotReady || PodState.IsReady(pod) ? subset.Ready : subset.NotReady).Add(address);
        }
        var array = new JsonArray();
        foreach (var (_, subset) in subsets)
        {
            var s = new JsonObject();
            if (subset.Ready.Count > 0) s["addresses"] = Sorted(subset.Ready);
            if (subset.NotReady.Count > 0) s["notReadyAddresses"] = Sorted(subset.NotReady);
            if (subset.Ports.Count > 0) s["ports"] = subset.Ports;
            array.Add((JsonNode)s);
        }
        var endpoints = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Endpoints",
            ["metadata"] = new JsonObject { ["name"] = Meta.Name(svc), ["namespace"] = Meta.Namespace(svc), ["labels"] = PodEndpoints.LabelsFrom(svc) },
        };
        if (array.Count > 0) endpoints["subsets"] = array;
        return endpoints;
    }

    static JsonArray Sorted(List<JsonObject> addresses) =>
        new(addresses.OrderBy(a => a["ip"]!.GetValue<string>(), StringComparer.Ordinal).Select(a => (JsonNode)a).ToArray());
}
