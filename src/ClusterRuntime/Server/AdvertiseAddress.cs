// Which address this server tells others to reach it at (the kubernetes Service's endpoints).
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Appliance.ClusterRuntime.Server;

/// <summary>K3s's choice: <c>--advertise-address</c>, else a specific <c>--bind-address</c>, else the host's primary address.</summary>
public static class AdvertiseAddress
{
    /// <summary>The address to advertise.</summary>
    public static IPAddress Resolve(string? advertise, string bind)
    {
        if (advertise is not null) return IPAddress.Parse(advertise);
        var bound = IPAddress.Parse(bind);
        if (!bound.Equals(IPAddress.Any) && !bound.Equals(IPAddress.IPv6Any)) return bound;
        return Primary();
    }

    /// <summary>
    /// The source address of the default route (asked of the kernel by connecting a UDP socket, which sends nothing);
    /// on a host without one (air-gapped, no gateway), the first IPv4 address of an interface that is up; else loopback.
    /// </summary>
    public static IPAddress Primary()
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Connect(IPAddress.Parse("192.0.2.1"), 9);
            if (socket.LocalEndPoint is IPEndPoint { Address: var a } && !IPAddress.IsLoopback(a) && !a.Equals(IPAddress.Any)) return a;
        }
        catch (SocketException)
        {
        }
        var candidates = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(u => u.Address)
            .Where(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        return candidates.FirstOrDefault() ?? IPAddress.Loopback;
    }
}
