// Pods, Namespaces and NetworkPolicies as the API returns them, for the NetworkPolicy tests.
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Tests.Agent.Network.Policy;

internal static class TestPolicyObjects
{
    /// <summary>A running pod at <paramref name="ip"/> on <paramref name="node"/>; <paramref name="ports"/> are named TCP container ports (name=number).</summary>
    public static JsonObject Pod(string ns, string name, string ip, string labels = "", string node = "node-a", string ports = "") => new()
    {
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["labels"] = Labels(labels) },
        ["spec"] = new JsonObject
        {
            ["nodeName"] = node,
            ["containers"] = new JsonArray(new JsonObject
            {
                ["name"] = "c",
                ["ports"] = new JsonArray([.. Pairs(ports).Select(p => (JsonNode)new JsonObject { ["name"] = p.Key, ["containerPort"] = int.Parse(p.Value), ["protocol"] = "TCP" })]),
            }),
        },
        ["status"] = new JsonObject { ["phase"] = "Running", ["podIP"] = ip, ["podIPs"] = new JsonArray(new JsonObject { ["ip"] = ip }) },
    };

    /// <summary>A namespace with labels "k=v,k=v".</summary>
    public static JsonObject Namespace(string name, string labels = "") => new() { ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = Labels(labels) } };

    /// <summary>A NetworkPolicy whose spec is the JSON text <paramref name="spec"/>.</summary>
    public static JsonObject NetPol(string ns, string name, string spec) => new()
    {
        ["apiVersion"] = "networking.k8s.io/v1", ["kind"] = "NetworkPolicy",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["spec"] = JsonNode.Parse(spec)!.AsObject(),
    };

    static JsonObject Labels(string text) => new([.. Pairs(text).Select(p => new KeyValuePair<string, JsonNode?>(p.Key, p.Value))]);

    static IEnumerable<KeyValuePair<string, string>> Pairs(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=')).Select(p => KeyValuePair.Create(p[0], p[1]));
}
