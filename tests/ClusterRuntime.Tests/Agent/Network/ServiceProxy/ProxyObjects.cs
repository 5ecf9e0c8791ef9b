// Services and EndpointSlices as the API returns them, for the Service proxy's tests.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Network.ServiceProxy;

namespace Appliance.ClusterRuntime.Tests.Agent.Network.ServiceProxy;

/// <summary>One endpoint of a slice: its address, node and conditions.</summary>
internal sealed record Ep(string Ip, string Node = "node-a", bool Ready = true, bool Serving = true, bool Terminating = false);

internal static class ProxyObjects
{
    public static readonly ProxyNode NodeA = new("node-a", [IPAddress.Parse("10.0.0.10")], IPNetwork.Parse("10.42.0.0/16"), IPNetwork.Parse("10.43.0.0/16"));

    /// <summary>A Service with one port <paramref name="port"/> (named "p") on <paramref name="clusterIp"/>, and the given LoadBalancer ingress addresses.</summary>
    public static JsonObject Service(string name, string clusterIp, int port = 80, string protocol = "TCP", string type = "ClusterIP", int nodePort = 0,
        string ns = "default", bool affinity = false, string? externalPolicy = null, string? internalPolicy = null, int affinityTimeout = 10800,
        string[]? ingress = null)
    {
        var spec = new JsonObject
        {
            ["type"] = type, ["clusterIP"] = clusterIp, ["clusterIPs"] = new JsonArray(clusterIp),
            ["ports"] = new JsonArray(new JsonObject { ["name"] = "p", ["protocol"] = protocol, ["port"] = port, ["targetPort"] = 8080 }),
        };
        if (nodePort > 0) spec["ports"]![0]!["nodePort"] = nodePort;
        if (affinity) spec["sessionAffinity"] = "ClientIP";
        if (affinity && affinityTimeout != 10800) spec["sessionAffinityConfig"] = new JsonObject { ["clientIP"] = new JsonObject { ["timeoutSeconds"] = affinityTimeout } };
        if (externalPolicy is not null) spec["externalTrafficPolicy"] = externalPolicy;
        if (internalPolicy is not null) spec["internalTrafficPolicy"] = internalPolicy;
        var svc = new JsonObject { ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns }, ["spec"] = spec };
        // A LoadBalancer's addresses, as the ServiceLB controller writes them.
        if (ingress is not null)
            svc["status"] = new JsonObject { ["loadBalancer"] = new JsonObject { ["ingress"] = new JsonArray([.. ingress.Select(ip => (JsonNode)new JsonObject { ["ip"] = ip, ["ipMode"] = "VIP" })]) } };
        return svc;
    }

    /// <summary>The EndpointSlice of <paramref name="service"/>: port "p" is <paramref name="port"/> on each endpoint.</summary>
    public static JsonObject Slice(string service, int port, string protocol, params Ep[] endpoints) => Slice(service, "default", port, protocol, endpoints);

    public static JsonObject Slice(string service, string ns, int port, string protocol, params Ep[] endpoints) => new()
    {
        ["metadata"] = new JsonObject { ["name"] = service + "-abcde", ["namespace"] = ns, ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = service } },
        ["addressType"] = "IPv4",
        ["ports"] = new JsonArray(new JsonObject { ["name"] = "p", ["protocol"] = protocol, ["port"] = port }),
        ["endpoints"] = new JsonArray([.. endpoints.Select(e => (JsonNode)new JsonObject
        {
            ["addresses"] = new JsonArray(e.Ip),
            ["nodeName"] = e.Node,
            ["conditions"] = new JsonObject { ["ready"] = e.Ready, ["serving"] = e.Serving, ["terminating"] = e.Terminating },
        })]),
    };
}
