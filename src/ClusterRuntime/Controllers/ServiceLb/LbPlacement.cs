// Which nodes serve each LoadBalancer Service: ServiceLB's per-node port rule, as a pure function of the objects.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Network.ServiceProxy;
using Appliance.ClusterRuntime.Agent.Node;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.ServiceLb;

/// <summary>
/// Where one LoadBalancer Service is served: the sorted IPv4 InternalIPs of its nodes, and, when a node was passed over
/// because a port was taken there, the first such port and the Service holding it.
/// </summary>
public sealed record LbPlacement(IReadOnlyList<string> Ingress, string? TakenPort, string? TakenBy);

/// <summary>
/// The placement rule. Services go in order (older <c>creationTimestamp</c> first, then namespace and name), so the
/// answer depends only on the objects. A node can serve a Service when it is Ready, not cordoned, has an IPv4
/// InternalIP, carries <see cref="EnableLabel"/>=true if any node carries that label at all, has no (port, protocol) of
/// the Service already held by an earlier Service placed on it, and, under <c>externalTrafficPolicy: Local</c>, has an
/// endpoint the proxy would use (<see cref="ProxyRules.Usable"/>: the node-local endpoints the agent sends traffic to).
/// </summary>
public static class LbPlacements
{
    /// <summary>K3s's node label: once any node has it, only nodes labelled <c>true</c> serve LoadBalancer Services.</summary>
    public const string EnableLabel = "svccontroller.k3s.cattle.io/enablelb";

    /// <summary>True for the Services this controller places: type LoadBalancer without a loadBalancerClass, not being deleted.</summary>
    public static bool IsOurs(JsonObject svc) =>
        Obj.Str(svc, "spec", "type") == "LoadBalancer" && Obj.Str(svc, "spec", "loadBalancerClass") is null && !Obj.IsDeleting(svc);

    /// <summary>The placement of every Service <see cref="IsOurs"/> accepts, by <c>ns/name</c>.</summary>
    public static Dictionary<string, LbPlacement> Place(IEnumerable<JsonObject> services, IEnumerable<JsonObject> nodes, IEnumerable<JsonObject> endpointSlices)
    {
        var ours = services.Where(IsOurs)
            .OrderBy(s => Obj.Time(s, "metadata", "creationTimestamp") ?? DateTimeOffset.MaxValue)
            .ThenBy(s => Meta.Namespace(s), StringComparer.Ordinal).ThenBy(s => Meta.Name(s), StringComparer.Ordinal).ToList();
        var nodeList = nodes.ToList();
        var selective = nodeList.Any(n => Meta.Label(n, EnableLabel) is not null);
        var candidates = nodeList.Where(n => CanServe(n, selective))
            .Select(n => (Name: Meta.Name(n)!, Ip: InternalIpv4(n)!)).OrderBy(n => n.Name, StringComparer.Ordinal).ToList();
        // The proxy's own reading of the slices, so "has a local endpoint" means here what it means to the agent.
        var endpoints = ServicePort.Read(ours, endpointSlices).ToLookup(p => Informer.KeyOf(p.Namespace, p.Name));
        var held = new Dictionary<(string Node, int Port, string Protocol), string>();
        var result = new Dictionary<string, LbPlacement>(StringComparer.Ordinal);
        foreach (var svc in ours)
        {
            var key = Informer.KeyOf(svc);
            var pairs = Obj.Items(svc, "spec", "ports").Select(p => (Port: Obj.Int(p, 0, "port"), Protocol: Obj.Str(p, "protocol") ?? "TCP")).Distinct().ToList();
            var local = Obj.Str(svc, "spec", "externalTrafficPolicy") == "Local";
            var ingress = new List<string>();
            (string Port, string By)? taken = null;
            foreach (var node in candidates)
            {
                if (local && !endpoints[key].Any(p => ProxyRules.Usable(p.Endpoints, node.Name).Count > 0)) continue;
                var clash = pairs.FirstOrDefault(p => held.ContainsKey((node.Name, p.Port, p.Protocol)));
                if (clash != default)
                {
                    taken ??= ($"{clash.Port}/{clash.Protocol}", held[(node.Name, clash.Port, clash.Protocol)]);
                    continue;
                }
                foreach (var p in pairs) held[(node.Name, p.Port, p.Protocol)] = key;
                ingress.Add(node.Ip);
            }
            ingress.Sort((a, b) => IPAddress.Parse(a).GetAddressBytes().AsSpan().SequenceCompareTo(IPAddress.Parse(b).GetAddressBytes()));
            result[key] = new LbPlacement(ingress, taken?.Port, taken?.By);
        }
        return result;
    }

    /// <summary>The <c>status.loadBalancer</c> a placement writes: one <c>ip</c> with <c>ipMode: VIP</c> per node, or empty.</summary>
    public static JsonObject Status(LbPlacement placement) => placement.Ingress.Count == 0 ? new JsonObject() : new JsonObject
    {
        ["ingress"] = new JsonArray([.. placement.Ingress.Select(ip => (JsonNode)new JsonObject { ["ip"] = ip, ["ipMode"] = "VIP" })]),
    };

    static bool CanServe(JsonObject node, bool selective) =>
        Obj.Items(node, "status", "conditions").Any(c => Obj.Str(c, "type") == "Ready" && Obj.Str(c, "status") == "True")
        && Obj.Bool(node, "spec", "unschedulable") != true
        && (!selective || Meta.Label(node, EnableLabel) == "true")
        && Meta.Name(node) is not null && InternalIpv4(node) is not null;

    static string? InternalIpv4(JsonObject node) => NodeStatus.InternalIpv4(node)?.ToString();
}
