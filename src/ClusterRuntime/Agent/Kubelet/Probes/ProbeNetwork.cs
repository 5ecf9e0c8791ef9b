// TCP connections for probes, made in the pods' network namespace: the agent's own, or a named one (nsenter-style).
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Probes;

/// <summary>
/// Opens TCP connections to pod addresses. With <paramref name="netnsPath"/> null the socket is made in the agent's
/// network namespace (where containerd's CNI bridge is); with a path such as <c>/run/netns/NS</c> the socket is made
/// on a short-lived thread that entered that namespace with setns(2) (a socket stays in the namespace it was made in).
/// </summary>
internal sealed class ProbeNetwork(string? netnsPath = null)
{
    const int CloneNewNet = 0x40000000;

    [DllImport("libc", SetLastError = true)]
    static extern int setns(int fd, int nstype);

    /// <summary>A connected socket to <paramref name="host"/>:<paramref name="port"/>.</summary>
    public async Task<Socket> ConnectAsync(string host, int port, CancellationToken ct)
    {
        var ip = IPAddress.TryParse(host, out var literal) ? literal : (await Dns.GetHostAddressesAsync(host, ct))[0];
        var socket = Create(ip.AddressFamily);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(ip, port), ct);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    Socket Create(AddressFamily family)
    {
        if (netnsPath is null) return new Socket(family, SocketType.Stream, ProtocolType.Tcp);
        Socket? socket = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var ns = File.OpenHandle(netnsPath);
                if (setns((int)ns.DangerousGetHandle(), CloneNewNet) != 0)
                    throw new IOException($"setns {netnsPath}: {Marshal.GetLastPInvokeErrorMessage()}");
                socket = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
            }
            catch (Exception e)
            {
                error = e;
            }
        }) { IsBackground = true, Name = "probe-netns" };
        thread.Start();
        thread.Join();
        return socket ?? throw error!;
    }
}
