// Routes to the other nodes' pod ranges through their InternalIPs (flannel's host-gw backend, without flannel).
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Node;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Network;

/// <summary>
/// Keeps one route per other node, <c>PODCIDR via INTERNALIP</c>, tagged with routing protocol <see cref="Proto"/> so
/// that ours are told apart from everything else in the table and stale ones are removed. A peer whose InternalIP is
/// not on a directly connected network cannot be reached this way (nodes must share an L2 segment): it gets a warning
/// and no route. IPv4 only.
/// </summary>
public sealed class NodeRoutes(HostCommand host, string nodeName, string? iface, ILogger logger)
{
    /// <summary>The <c>proto</c> number our routes carry (unassigned in iproute2's rt_protos).</summary>
    public const string Proto = "83";

    readonly HashSet<string> _warned = [];

    /// <summary>Turns on IPv4 forwarding in this network namespace (the node routes pod traffic).</summary>
    public Task EnableForwardingAsync(CancellationToken ct) => host.RunCheckedAsync("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"], ct: ct);

    /// <summary>The routes wanted for <paramref name="nodes"/>: pod CIDR → InternalIP of every other node that has both.</summary>
    public SortedDictionary<string, IPAddress> Wanted(IEnumerable<JsonObject> nodes)
    {
        var wanted = new SortedDictionary<string, IPAddress>(StringComparer.Ordinal);
        foreach (var node in nodes.Where(n => Meta.Name(n) != nodeName))
        {
            var ip = NodeStatus.InternalIpv4(node);
            var cidrs = (Obj.At(node, "spec", "podCIDRs") as JsonArray)?.Select(c => (string?)c) ?? [Obj.Str(node, "spec", "podCIDR")];
            if (ip is null) continue;
            foreach (var cidr in cidrs.OfType<string>().Where(c => !c.Contains(':')))
                wanted[cidr] = ip;
        }
        return wanted;
    }

    /// <summary>Adds, changes and removes our routes so that they are exactly those <paramref name="nodes"/> call for.</summary>
    public async Task SyncAsync(IEnumerable<JsonObject> nodes, CancellationToken ct)
    {
        var wanted = Wanted(nodes);
        var current = await CurrentAsync(ct);
        foreach (var (cidr, via) in wanted)
        {
            if (current.TryGetValue(cidr, out var have) && have.Equals(via)) continue;
            if (!await DirectlyConnectedAsync(via, ct))
            {
                if (_warned.Add($"{cidr} {via}"))
                    logger.LogWarning("network: {Cidr} is behind {Via}, which is not on a directly connected network: its pods are unreachable from this node (nodes must share an L2 segment; --node-ip picks the address)", cidr, via);
                continue;
            }
            List<string> args = ["route", "replace", cidr, "via", via.ToString(), "proto", Proto];
            if (iface is not null) args.AddRange(["dev", iface]);
            var r = await host.RunAsync("ip", args, ct: ct);
            if (r.Ok) logger.LogInformation("network: route {Cidr} via {Via}", cidr, via);
            else logger.LogWarning("network: route {Cidr} via {Via}: {Error}", cidr, via, r.Error.Trim());
        }
        foreach (var cidr in current.Keys.Where(c => !wanted.ContainsKey(c)))
        {
            await host.RunAsync("ip", ["route", "del", cidr, "proto", Proto], ct: ct);
            logger.LogInformation("network: route {Cidr} removed (its node is gone)", cidr);
        }
    }

    /// <summary>Removes every route of ours (<c>--cleanup</c>).</summary>
    public async Task CleanupAsync(CancellationToken ct)
    {
        foreach (var cidr in (await CurrentAsync(ct)).Keys)
            await host.RunAsync("ip", ["route", "del", cidr, "proto", Proto], ct: ct);
    }

    async Task<Dictionary<string, IPAddress>> CurrentAsync(CancellationToken ct)
    {
        var json = await host.RunCheckedAsync("ip", ["-j", "route", "show", "proto", Proto], ct: ct);
        var routes = new Dictionary<string, IPAddress>(StringComparer.Ordinal);
        foreach (var r in (JsonNode.Parse(json.Length == 0 ? "[]" : json) as JsonArray ?? []).OfType<JsonObject>())
            if ((string?)r["dst"] is { } dst && IPAddress.TryParse((string?)r["gateway"], out var gw))
                routes[dst.Contains('/') ? dst : dst + "/32"] = gw;
        return routes;
    }

    /// <summary>Whether the kernel reaches <paramref name="ip"/> without a gateway (on the given interface, if any).</summary>
    async Task<bool> DirectlyConnectedAsync(IPAddress ip, CancellationToken ct)
    {
        List<string> args = ["-j", "route", "get", ip.ToString()];
        if (iface is not null) args.AddRange(["oif", iface]);
        var r = await host.RunAsync("ip", args, ct: ct);
        if (!r.Ok) return false;
        try
        {
            return JsonNode.Parse(r.Out) is JsonArray { Count: > 0 } a && a[0] is JsonObject route && route["gateway"] is null && (string?)route["type"] is null or "unicast";
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
