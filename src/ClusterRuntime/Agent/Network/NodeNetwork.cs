// The node's share of the cluster network: forwarding, routes to the other nodes' pods, and the cluster DNS server.
using System.Net;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.ClusterDns;
using Appliance.ClusterRuntime.Agent.Network.Policy;
using Appliance.ClusterRuntime.Agent.Network.ServiceProxy;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Network;

/// <summary>
/// Runs on every agent (unless <c>--disable-network</c>): IPv4 forwarding and bridge netfilter on, one route per other
/// node's pod range (<see cref="NodeRoutes"/>) kept in step with the Nodes, the Service proxy (<see cref="NftProxy"/>)
/// synced on every change of Services, EndpointSlices or Nodes and every 30 s (a flushed table comes back), NetworkPolicy
/// enforcement (<see cref="NftPolicy"/>, its own watches and table), and the
/// cluster DNS (<see cref="ClusterDnsService"/>) on the cluster DNS address, which is added to <c>lo</c> with the label
/// <see cref="DnsLabel"/> so that pods reach it through their gateway (this node) and <c>--cleanup</c> finds it again.
/// </summary>
internal sealed class NodeNetwork(ApiClient api, HostCommand host, ClusterSettings settings, string nodeName, IPAddress nodeIp, string? iface, string resolvConf, ILogger logger)
{
    /// <summary>The label of the cluster DNS address on <c>lo</c>.</summary>
    public const string DnsLabel = "lo:appliance";

    static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(50);

    int _nodesChanged = 1;

    /// <summary>How often the proxy's table is checked even without a change.</summary>
    static readonly TimeSpan Recheck = TimeSpan.FromSeconds(30);

    /// <summary>The DNS service (for its server's bound address).</summary>
    public ClusterDnsService? Dns { get; private set; }

    /// <summary>Runs until <paramref name="ct"/> ends. Failures of the tools are logged and retried on the next change.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var routes = new NodeRoutes(host, nodeName, iface, logger);
        var proxy = new NftProxy(logger, command: host);
        var node = new ProxyNode(nodeName, [nodeIp], settings.ClusterCidr, settings.ServiceCidr, [settings.ClusterDns]);
        // Each step on its own: a missing br_netfilter must not also cost the cluster DNS its address.
        await Step(() => routes.EnableForwardingAsync(ct), "pods on other nodes and Services may be unreachable");
        await Step(() => EnableBridgeNetfilterAsync(ct), "pods may not reach Services whose endpoints are on this node");
        await Step(() => host.RunCheckedAsync("ip", ["addr", "replace", $"{settings.ClusterDns}/32", "dev", "lo", "label", DnsLabel], ct: ct),
            "the cluster DNS cannot be served");
        var cluster = new WatchedObjects(api, logger);
        var changed = new ChangeSignal();
        cluster.Changed += changed.Set;
        cluster.Nodes.Changed += () => Interlocked.Exchange(ref _nodesChanged, 1);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var watches = cluster.RunAsync(stop.Token);
        Dns = new ClusterDnsService(cluster, new IPEndPoint(settings.ClusterDns, 53), settings.Domain, ClusterDnsService.Upstreams(resolvConf), logger);
        var dns = ServeDnsAsync(Dns, stop.Token);
        var policy = new NftPolicy(logger, command: host).RunAsync(api, nodeName, [settings.ClusterDns], stop.Token);
        try
        {
            await cluster.Listed.WaitAsync(ct);
            var recheck = true;
            while (true)
            {
                // Routes follow the Nodes only (an endpoint change spawns no `ip`), and are checked again every 30 s.
                if (Interlocked.Exchange(ref _nodesChanged, 0) == 1 || recheck)
                {
                    try { await routes.SyncAsync(cluster.Nodes.Items(), ct); }
                    catch (HostCommandException e) { logger.LogWarning("network: routes: {Error}", e.Message); }
                }
                try
                {
                    var r = await proxy.SyncAsync(cluster.Services.Items(), cluster.EndpointSlices.Items(), node, ct);
                    if (r.Changed) logger.LogDebug("service proxy: applied in {Ms:F1} ms (render {Render:F1} ms)", r.Apply.TotalMilliseconds, r.Render.TotalMilliseconds);
                }
                catch (Exception e) when (e is HostCommandException or InvalidOperationException)
                {
                    logger.LogWarning("service proxy: {Error}", e.Message);
                }
                recheck = !await changed.WaitAsync(Settle, Recheck, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        finally
        {
            stop.Cancel();
            await Quietly(dns);
            await Quietly(policy);
            await Quietly(watches);
        }
    }

    /// <summary>
    /// Bridged traffic through netfilter: a pod's reply to another pod on the same bridge must pass the node's
    /// conntrack to be un-DNATed from a ClusterIP. Loads br_netfilter when the sysctl is not there yet.
    /// </summary>
    async Task EnableBridgeNetfilterAsync(CancellationToken ct)
    {
        if (!(await host.RunAsync("sysctl", ["-q", "-w", "net.bridge.bridge-nf-call-iptables=1"], ct: ct)).Ok)
        {
            await host.RunAsync("modprobe", ["br_netfilter"], ct: ct);
            await host.RunCheckedAsync("sysctl", ["-q", "-w", "net.bridge.bridge-nf-call-iptables=1"], ct: ct);
        }
    }

    async Task Step(Func<Task> step, string consequence)
    {
        try { await step(); }
        catch (HostCommandException e) { logger.LogError("network: {Error}; {Consequence}", e.Message, consequence); }
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

    /// <summary>Removes what the agent added to the node's network: its nftables tables (proxy and policy), routes, the
    /// cluster DNS address and the pods' bridge.</summary>
    public static async Task CleanupAsync(HostCommand host, ILogger logger, CancellationToken ct)
    {
        await new NftProxy(logger, command: host).CleanupAsync(ct);
        await new NftPolicy(logger, command: host).CleanupAsync(ct);
        await new NodeRoutes(host, "", null, logger).CleanupAsync(ct);
        await host.RunAsync("ip", ["addr", "flush", "dev", "lo", "label", DnsLabel], ct: ct);
        await PodBridge.RemoveAsync(host, ct);
    }
}
