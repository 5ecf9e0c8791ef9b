// One port of one Service with its endpoints, read from the Service and its EndpointSlices as the API returns them.
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Agent.Network.ServiceProxy;

/// <summary>An endpoint of a Service port: an IPv4 address and target port, its node and its conditions.</summary>
internal sealed record ServiceEndpoint(string Ip, int Port, string? NodeName, bool Ready, bool Serving, bool Terminating)
{
    /// <summary><c>IP/PORT</c>, the endpoint's part of chain and set names.</summary>
    public string Key => $"{Ip}/{Port}";
}

/// <summary>
/// One Service port as the proxy renders it. <see cref="Id"/> (<c>ns/name/proto/port</c>) names its chains; ports are
/// unique per protocol within a Service, so the id is unique in the cluster.
/// </summary>
internal sealed record ServicePort(
    string Namespace, string Name, string Protocol, int Port, int NodePort,
    IReadOnlyList<string> ClusterIps, IReadOnlyList<string> ExternalIps,
    bool ExternalLocal, bool InternalLocal, int? AffinitySeconds, IReadOnlyList<ServiceEndpoint> Endpoints)
{
    public string Id => $"{Namespace}/{Name}/{Protocol}/{Port}";

    /// <summary>
    /// Every port of every Service that has rules (not ExternalName, not headless), sorted by namespace, name,
    /// protocol and port, each with the endpoints of the matching EndpointSlice port (by port name and protocol).
    /// </summary>
    public static List<ServicePort> Read(IEnumerable<JsonObject> services, IEnumerable<JsonObject> endpointSlices)
    {
        var slices = endpointSlices
            .Where(s => Meta.Label(s, "kubernetes.io/service-name") is not null && (Obj.Str(s, "addressType") ?? "IPv4") == "IPv4")
            .ToLookup(s => (Meta.Namespace(s) ?? "default", Meta.Label(s, "kubernetes.io/service-name")!));
        var ports = new List<ServicePort>();
        foreach (var svc in services)
        {
            var type = Obj.Str(svc, "spec", "type") ?? "ClusterIP";
            if (type == "ExternalName" || Obj.Str(svc, "spec", "clusterIP") == "None") continue;
            var ns = Meta.Namespace(svc) ?? "default";
            var name = Meta.Name(svc) ?? "";
            var clusterIps = Ipv4s(Obj.At(svc, "spec", "clusterIPs") is JsonArray a ? Strings(a) : [Obj.Str(svc, "spec", "clusterIP")]);
            var external = Ipv4s(Strings(Obj.At(svc, "spec", "externalIPs") as JsonArray));
            var lb = type == "LoadBalancer";
            var ingress = lb ? Ipv4s(Obj.Items(svc, "status", "loadBalancer", "ingress").Select(i => Obj.Str(i, "ip"))) : [];
            var affinity = Obj.Str(svc, "spec", "sessionAffinity") == "ClientIP"
                ? Obj.Int(svc, 10800, "spec", "sessionAffinityConfig", "clientIP", "timeoutSeconds") : (int?)null;
            foreach (var p in Obj.Items(svc, "spec", "ports"))
            {
                var protocol = (Obj.Str(p, "protocol") ?? "TCP").ToLowerInvariant();
                if (protocol is not ("tcp" or "udp" or "sctp")) continue;
                var portName = Obj.Str(p, "name") ?? "";
                ports.Add(new ServicePort(ns, name, protocol, Obj.Int(p, 0, "port"), type is "NodePort" or "LoadBalancer" ? Obj.Int(p, 0, "nodePort") : 0,
                    clusterIps, [.. external.Concat(ingress).Distinct()],
                    Obj.Str(svc, "spec", "externalTrafficPolicy") == "Local", Obj.Str(svc, "spec", "internalTrafficPolicy") == "Local",
                    affinity, ReadEndpoints(slices[(ns, name)], portName, protocol)));
            }
        }
        ports.Sort((x, y) => (x.Namespace, x.Name, x.Protocol, x.Port).CompareTo((y.Namespace, y.Name, y.Protocol, y.Port)));
        return ports;
    }

    // The endpoints of the slices' port with this name and protocol; an address in two slices (a move between slices)
    // counts once, ready if either says so.
    static List<ServiceEndpoint> ReadEndpoints(IEnumerable<JsonObject> slices, string portName, string protocol)
    {
        var byKey = new Dictionary<string, ServiceEndpoint>();
        foreach (var slice in slices)
        {
            var port = Obj.Items(slice, "ports").FirstOrDefault(p => (Obj.Str(p, "name") ?? "") == portName && (Obj.Str(p, "protocol") ?? "TCP").Equals(protocol, StringComparison.OrdinalIgnoreCase));
            if (port is null) continue;
            var number = Obj.Int(port, 0, "port");
            if (number is <= 0 or > 65535) continue;
            foreach (var ep in Obj.Items(slice, "endpoints"))
            {
                // Kubernetes: a nil ready is unknown and read as ready; nil serving follows ready; nil terminating is false.
                var ready = Obj.Bool(ep, "conditions", "ready") ?? true;
                var serving = Obj.Bool(ep, "conditions", "serving") ?? ready;
                var terminating = Obj.Bool(ep, "conditions", "terminating") ?? false;
                foreach (var ip in Ipv4s(Strings(Obj.At(ep, "addresses") as JsonArray)))
                {
                    var e = new ServiceEndpoint(ip, number, Obj.Str(ep, "nodeName"), ready, serving, terminating);
                    if (!byKey.TryGetValue(e.Key, out var seen) || (!seen.Ready && e.Ready)) byKey[e.Key] = e;
                }
            }
        }
        return [.. byKey.Values.OrderBy(e => IPAddress.Parse(e.Ip).GetAddressBytes(), ByteOrder.Instance).ThenBy(e => e.Port)];
    }

    static IEnumerable<string?> Strings(JsonArray? array) =>
        array is null ? [] : array.Select(n => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null);

    static List<string> Ipv4s(IEnumerable<string?> values) =>
        [.. values.Select(v => IPAddress.TryParse(v, out var ip) && ip.AddressFamily == AddressFamily.InterNetwork ? ip.ToString() : null).OfType<string>().Distinct()];

    sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();
        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
