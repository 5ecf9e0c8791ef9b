// The agent's cluster DNS: watches Services, EndpointSlices and Nodes, rebuilds the zone on change, and serves it.
using System.Diagnostics;
using System.Net;
using Appliance.ClusterRuntime.Agent.Client;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.ClusterDns;

/// <summary>
/// Runs a <see cref="ClusterDnsServer"/> on <paramref name="listen"/> whose zone follows the cluster: each burst of
/// changes to the watched collections (folded over 50 ms) gives one rebuild, so a new endpoint answers within a
/// fraction of a second. The collections are run by the owner (they are shared with the node's other networking).
/// </summary>
internal sealed class ClusterDnsService(WatchedObjects cluster, IPEndPoint listen, string domain, IReadOnlyList<IPEndPoint> upstreams, ILogger logger)
{
    static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(50);

    /// <summary>The server, once the first lists are in (null before).</summary>
    public ClusterDnsServer? Server { get; private set; }

    /// <summary>Serves until <paramref name="ct"/> ends; throws when the address cannot be bound.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var changed = new ChangeSignal();
        cluster.Changed += changed.Set;
        try
        {
            await cluster.Listed.WaitAsync(ct);
            uint serial = 1;
            ClusterZone Build() => ClusterZone.Build(domain, 5, serial++, cluster.Services.Items(), cluster.EndpointSlices.Items(), cluster.Nodes.Items());
            await using var server = ClusterDnsServer.Start(listen, Build(), upstreams, logger);
            Server = server;
            logger.LogInformation("cluster DNS on {Endpoint} for {Domain} ({Names} names); upstream {Upstreams}", server.Endpoint, domain, server.Zone.Count,
                upstreams.Count == 0 ? "none (names outside the cluster get SERVFAIL)" : string.Join(", ", upstreams));
            while (true)
            {
                await changed.WaitAsync(Settle, ct);
                var clock = Stopwatch.StartNew();
                server.Zone = Build();
                logger.LogDebug("cluster DNS: zone rebuilt, {Names} names in {Ms:F1} ms", server.Zone.Count, clock.Elapsed.TotalMilliseconds);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        finally
        {
            Server = null;
            cluster.Changed -= changed.Set;
        }
    }

    /// <summary>
    /// The node's resolvers (the <c>nameserver</c> lines of its resolv.conf, read as the kubelet reads it for pods,
    /// port 53); none when the file is missing, as on a site with no network configured. Loopback resolvers are kept:
    /// the agent runs on the node itself.
    /// </summary>
    public static IReadOnlyList<IPEndPoint> Upstreams(string resolvConf) =>
        [.. (Kubelet.ResolvConf.Read(resolvConf)?.Servers ?? [])
            .Select(s => IPAddress.TryParse(s.Split('%')[0], out var ip) ? new IPEndPoint(ip, 53) : null)
            .OfType<IPEndPoint>()
            .Distinct()];
}
