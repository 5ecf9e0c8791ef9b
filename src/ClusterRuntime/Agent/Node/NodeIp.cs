// Chooses the node's InternalIP without needing a default route or DNS.
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Appliance.ClusterRuntime.Agent.Node;

/// <summary>
/// The node IP: <c>--node-ip</c>, else the source address the kernel picks for the route to the server (a connected
/// UDP socket sends nothing and needs only a route to that address, not a default route), else the first
/// non-loopback address. A server given by name is resolved only in the second step, and a failure falls through.
/// </summary>
public static class NodeIp
{
    /// <summary>Picks the node IP for a server at <paramref name="server"/>.</summary>
    public static IPAddress Choose(IPAddress? given, Uri server)
    {
        if (given is not null) return given;
        if (RouteSource(server) is { } source && !IPAddress.IsLoopback(source)) return source;
        return FirstNonLoopback() ?? RouteSource(server) ?? IPAddress.Loopback;
    }

    /// <summary>The local address of the route to <paramref name="server"/>, or null when there is none.</summary>
    public static IPAddress? RouteSource(Uri server)
    {
        try
        {
            var target = IPAddress.TryParse(server.Host.Trim('[', ']'), out var ip) ? ip : Dns.GetHostAddresses(server.Host).FirstOrDefault();
            if (target is null) return null;
            using var socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.Connect(new IPEndPoint(target, server.Port > 0 ? server.Port : 6443));
            return (socket.LocalEndPoint as IPEndPoint)?.Address;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    /// <summary>
    /// The first IPv4 (else IPv6, not link-local) address of an interface that is up, not loopback, and not one the
    /// node's own pods make: the CNI bridge (<c>cni0</c>, which holds the pod gateway once a pod ran) and the pods'
    /// veth ends. Without that rule a restarted agent whose server is on loopback took 10.42.0.1 as its node IP.
    /// </summary>
    public static IPAddress? FirstNonLoopback()
    {
        var addresses = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus is OperationalStatus.Up or OperationalStatus.Unknown && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .Where(n => n.Name != Kubelet.CniConfig.Bridge && !n.Name.StartsWith("veth", StringComparison.Ordinal))
            .SelectMany(n => n.GetIPProperties().UnicastAddresses.Select(u => u.Address))
            .Where(a => !IPAddress.IsLoopback(a) && !a.IsIPv6LinkLocal)
            .ToList();
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
    }
}
