// What the node knows about a pod that its object may not say yet: the sandbox's IPs, the node's IPs and allocatable.
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Env;

/// <summary>
/// Node-side facts for the downward API. <paramref name="PodIPs"/> come from the sandbox status, <paramref name="HostIPs"/>
/// from the node; empty lists fall back to the pod's status. <paramref name="Allocatable"/> (the node's
/// <c>status.allocatable</c>) stands in for a limit the container does not set, as upstream does.
/// </summary>
public sealed record PodFacts(IReadOnlyList<string> PodIPs, IReadOnlyList<string> HostIPs, JsonObject? Allocatable = null)
{
    /// <summary>No node-side facts: everything from the pod object.</summary>
    public static readonly PodFacts None = new([], []);
}
