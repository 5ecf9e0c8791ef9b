// What the Service proxy needs to know about the node it runs on.
using System.Net;

namespace Appliance.ClusterRuntime.Agent.Network.ServiceProxy;

/// <summary>
/// This node as the proxy sees it: its name (EndpointSlice <c>nodeName</c> for the Local traffic policies), the
/// addresses NodePorts and LoadBalancer ports are opened on (IPv4; others are ignored), the cluster (pod) CIDR whose
/// traffic leaving it is masqueraded, and the service CIDR (an unallocated address in it is dropped, except
/// <paramref name="LocalServiceAddresses"/>: addresses of the range this node serves itself, the cluster DNS).
/// </summary>
public sealed record ProxyNode(string Name, IReadOnlyList<IPAddress> Addresses, IPNetwork ClusterCidr, IPNetwork ServiceCidr, IReadOnlyList<IPAddress>? LocalServiceAddresses = null);
