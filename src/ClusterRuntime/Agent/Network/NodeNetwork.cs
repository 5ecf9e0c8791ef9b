// The node's share of the cluster network: forwarding, routes to the other nodes' pods, and the cluster DNS server.
using System.Net;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.ClusterDns;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Network;

/// <summary>
/// Runs on every agent (unless <c>--disable-network</c>): IPv4 forwarding on, one route per other node's pod range
/// (<see cref="NodeRoutes"/>) kept in step with the Nodes, and the cluster DNS (<see cref="ClusterDnsService"/>) on the
/// cluster DNS address, which is added to <c>lo</c> with the label <see cref="DnsLabel"/> so that pods reach it through
/// their gateway (this node) and <c>--cleanup</c> finds it again.
/// </summary>
internal sealed class NodeNetwork(ApiClient api, HostCommand host, ClusterSettings settings, string nodeName, string? iface, string resolvConf, ILogger logger)
{
    /// <summary>The label of the cluster DNS address on <c>lo</c>.</summary>
    public const string DnsLabel = "lo:appliance";

    static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(50);

    /// <summary>The DNS service (for its server's bound address).</summary>
    public ClusterDnsService? Dns { get; private set; }

    /// <summary>Runs until <paramref name="ct"/> ends. Failures of the tools are logged and retried on the next change.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var routes = new NodeRoutes(host, nodeName, iface, logger);
        try
        {
            await routes.EnableForwardingAsync(ct);
            await host.RunCheckedAsync("ip", ["addr", "replace", $"{settings.ClusterDns}/32", "dev", "lo", "label", DnsLabel], ct: ct);
        }
        catch (HostCommandException e)
        {
            logger.LogError("network: {Error}; pods on other nodes and the cluster DNS may be unreachable", e.Message);
        }
        var cluster = new WatchedObjects(api, logger);
        var changed = new ChangeSignal();
        cluster.Nodes.Changed += changed.Set;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var watches = cluster.RunAsync(stop.Token);
        Dns = new ClusterDnsService(cluster, new IPEndPoint(settings.ClusterDns, 53), settings.Domain, ClusterDnsService.Upstreams(resolvConf), logger);
        var dns = ServeDnsAsync(Dns, stop.Token);
        try
        {
            while (true)
            {
                await changed.WaitAsync(Settle, ct);
                try { await routes.SyncAsync(cluster.Nodes.Items(), ct); }
                catch (HostCommandException e) { logger.LogWarning("network: routes: {Error}", e.Message); }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        finally
        {
            stop.Cancel();
            await Quietly(dns);
            await Quietly(watches);
        }
    }

    async Task ServeDnsAsync(ClusterDnsService service, CancellationToken ct)
    {
        try { await service.RunAsync(ct); }
        catch (System.Net.Sockets.SocketException e)
        {
            logger.LogError("cluster DNS cannot listen on {Address}:53: {Error}; pods' names will not resolve", settings.ClusterDns, e.Message);
        }
    }

    static async Task Quietly(Task t)
    {
        try { await t; }
        catch (OperationCanceledException) { }
    }

    /// <summary>Removes what the agent added to the node's network: its routes and the cluster DNS address.</summary>
    public static async Task CleanupAsync(HostCommand host, ILogger logger, CancellationToken ct)
    {
        await new NodeRoutes(host, "", null, logger).CleanupAsync(ct);
        await host.RunAsync("ip", ["addr", "flush", "dev", "lo", "label", DnsLabel], ct: ct);
    }
}
