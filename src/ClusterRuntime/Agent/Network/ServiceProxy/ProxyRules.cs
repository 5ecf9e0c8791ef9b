// Renders Services and EndpointSlices into the proxy's nftables table (kube-proxy's nftables mode, our own names).
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Agent.Network.ServiceProxy;

/// <summary>A UDP destination the conntrack flush watches: an address and port, or a NodePort on any node address.</summary>
public sealed record UdpTarget(string? Ip, int Port)
{
    /// <summary>The <c>conntrack</c> arguments that select this destination's flows.</summary>
    public IEnumerable<string> ConntrackFilter() =>
        Ip is null ? ["-p", "udp", "--orig-port-dst", Port.ToString()] : ["-p", "udp", "--orig-dst", Ip, "--orig-port-dst", Port.ToString()];
}

/// <summary>
/// The rendered ruleset: the table, the endpoint addresses behind each UDP destination (for the conntrack flush),
/// and the destinations left out because an earlier Service (by namespace and name) already holds them.
/// </summary>
public sealed record ProxyRuleset(NftTable Table, IReadOnlyDictionary<UdpTarget, IReadOnlySet<string>> UdpTargets, IReadOnlyList<string> Conflicts);

/// <summary>
/// The pure renderer: (Services, EndpointSlices, node) → the whole table. Same input, same text. Layout:
/// <list type="bullet">
/// <item><c>nat-prerouting</c>/<c>nat-output</c> jump to <c>services</c>: <c>ip daddr . meta l4proto . th dport</c> in the
/// verdict map <c>service-ips</c> (ClusterIPs → <c>svc-ID</c>; external and LoadBalancer addresses → <c>ext-ID</c>), then
/// NodePorts on <c>@node-ips</c> through <c>service-nodeports</c>.</item>
/// <item><c>svc-ID</c>/<c>ext-ID</c> mark what must be masqueraded and go to a selection chain (<c>cluster-ID</c> or
/// <c>local-ID</c>): session affinity first, then <c>numgen random mod N</c> over the endpoint chains <c>ep-ID__IP/PORT</c>,
/// which mark hairpin traffic, note the client for affinity and DNAT.</item>
/// <item><c>filter-prerouting</c>/<c>filter-output</c> (after DNAT) send new flows still addressed to a Service to
/// <c>endpoints-check</c>: no endpoints → reject (TCP reset, else ICMP port unreachable); endpoints but none usable under a
/// Local policy → drop; a ClusterIP on a port it does not serve → reject; an unallocated service address → drop.</item>
/// <item><c>nat-postrouting</c> masquerades marked packets, and pod traffic leaving the cluster CIDR.</item>
/// </list>
/// </summary>
public static class ProxyRules
{
    /// <summary>The packet mark bit that asks for masquerade (kube-proxy's value).</summary>
    public const string MasqueradeMark = "0x00004000";

    const string ServiceKey = "type ipv4_addr . inet_proto . inet_service : verdict;";
    const string NodePortKey = "type inet_proto . inet_service : verdict;";

    /// <summary>Renders the table <paramref name="tableName"/> for <paramref name="node"/>.</summary>
    public static ProxyRuleset Render(string tableName, IEnumerable<JsonObject> services, IEnumerable<JsonObject> endpointSlices, ProxyNode node)
    {
        var t = new NftTable(tableName);
        var cluster = node.ClusterCidr.ToString();
        var nodeIps = node.Addresses.Where(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork).Select(a => a.ToString()).Distinct().ToList();

        t.Chain("nat-prerouting", "type nat hook prerouting priority dstnat; policy accept;").Rules.Add("jump services");
        t.Chain("nat-output", "type nat hook output priority -100; policy accept;").Rules.Add("jump services");
        t.Chain("nat-postrouting", "type nat hook postrouting priority srcnat; policy accept;").Rules.AddRange([
            "jump masquerading",
            $"ip saddr {cluster} ip daddr != {cluster} masquerade fully-random"]);
        t.Chain("masquerading").Rules.AddRange([
            $"meta mark & {MasqueradeMark} == 0 return",
            $"meta mark set meta mark xor {MasqueradeMark}",
            "masquerade fully-random"]);
        t.Chain("mark-for-masquerade").Rules.Add($"meta mark set meta mark or {MasqueradeMark}");
        t.Chain("filter-prerouting", "type filter hook prerouting priority dstnat + 10; policy accept;").Rules.Add("ct state new jump endpoints-check");
        t.Chain("filter-output", "type filter hook output priority -90; policy accept;").Rules.Add("ct state new jump endpoints-check");
        t.Chain("reject-chain").Rules.AddRange(["meta l4proto tcp reject with tcp reset", "reject"]);
        t.Chain("services").Rules.AddRange([
            "ip daddr . meta l4proto . th dport vmap @service-ips",
            "ip daddr @node-ips meta l4proto . th dport vmap @service-nodeports"]);
        t.Chain("endpoints-check").Rules.AddRange([
            "ip daddr . meta l4proto . th dport vmap @no-endpoint-services",
            "ip daddr @node-ips meta l4proto . th dport vmap @no-endpoint-nodeports",
            "ip daddr @cluster-ips goto reject-chain",
            .. (node.LocalServiceAddresses ?? []).Where(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                .Select(a => a.ToString()).Order(StringComparer.Ordinal).Select(a => $"ip daddr {a} return"),
            $"ip daddr {node.ServiceCidr} drop"]);
        var serviceIps = t.Set("service-ips", true, ServiceKey);
        var nodePorts = t.Set("service-nodeports", true, NodePortKey);
        var noEndpoints = t.Set("no-endpoint-services", true, ServiceKey);
        var noEndpointNodePorts = t.Set("no-endpoint-nodeports", true, NodePortKey);
        var clusterIps = t.Set("cluster-ips", false, "type ipv4_addr;");
        t.Set("node-ips", false, "type ipv4_addr;").Elements.UnionWith(nodeIps);

        var udp = new Dictionary<UdpTarget, IReadOnlySet<string>>();
        var conflicts = new List<string>();
        var taken = new HashSet<string>(StringComparer.Ordinal);
        // One destination, one Service: the first (by namespace, name) keeps a key another also claims. Address keys
        // (ip . proto . port) and NodePort keys (proto . port) cannot look alike, so one set holds both.
        bool Claim(NftSet map, string key, string verdict, ServicePort sp)
        {
            if (!taken.Add(key)) { conflicts.Add($"{sp.Id}: {key} is already taken"); return false; }
            map.Elements.Add($"{key} : {verdict}");
            return true;
        }

        foreach (var sp in ServicePort.Read(services, endpointSlices))
        {
            var clusterEps = Usable(sp.Endpoints, null);
            var localEps = Usable(sp.Endpoints, node.Name);
            var internalEps = sp.InternalLocal ? localEps : clusterEps;
            var externalEps = sp.ExternalLocal ? localEps : clusterEps;
            // Endpoints exist but the policy allows none of them here: drop (the client may try another node); no
            // endpoints at all: reject at once.
            var unusable = sp.Endpoints.Any(e => e.Ready || e.Serving) ? "drop" : "goto reject-chain";
            var proto = sp.Protocol;

            clusterIps.Elements.UnionWith(sp.ClusterIps);
            foreach (var ip in sp.ClusterIps)
            {
                var key = $"{ip} . {proto} . {sp.Port}";
                if (internalEps.Count > 0) Claim(serviceIps, key, $"goto svc-{sp.Id}", sp);
                else Claim(noEndpoints, key, unusable, sp);
                if (proto == "udp") udp[new UdpTarget(ip, sp.Port)] = internalEps.Select(e => e.Ip).ToHashSet();
            }
            if (internalEps.Count > 0 && sp.ClusterIps.Count > 0)
            {
                var svc = t.Chain($"svc-{sp.Id}").Rules;
                // Cluster policy: a client outside the pod network (the node itself, a routed LAN host) is masqueraded
                // so the reply comes back through this node. Local policy keeps the client's address.
                if (!sp.InternalLocal) svc.Add($"ip saddr != {cluster} jump mark-for-masquerade");
                svc.Add($"goto {Select(t, sp, sp.InternalLocal ? "local" : "cluster", internalEps)}");
            }

            // External destinations: externalIPs and LoadBalancer ingress addresses, the NodePort on this node's
            // addresses. A LoadBalancer port is opened on a node's address only when the ServiceLB controller listed
            // it in the ingress: a node where the port is another Service's does not open it for this one.
            var external = sp.ExternalIps;
            if (externalEps.Count > 0 && (external.Count > 0 || sp.NodePort > 0))
            {
                var ext = t.Chain($"ext-{sp.Id}").Rules;
                if (sp.ExternalLocal)
                {
                    // Pods and the node itself reach the Service through any endpoint; only outside clients are kept
                    // to this node's endpoints, with their address preserved.
                    var all = Select(t, sp, "cluster", clusterEps);
                    ext.AddRange([$"ip saddr {cluster} goto {all}", "fib saddr type local jump mark-for-masquerade", $"fib saddr type local goto {all}",
                        $"goto {Select(t, sp, "local", localEps)}"]);
                }
                else ext.AddRange(["jump mark-for-masquerade", $"goto {Select(t, sp, "cluster", clusterEps)}"]);
                foreach (var ip in external) Claim(serviceIps, $"{ip} . {proto} . {sp.Port}", $"goto ext-{sp.Id}", sp);
                if (sp.NodePort > 0) Claim(nodePorts, $"{proto} . {sp.NodePort}", $"goto ext-{sp.Id}", sp);
            }
            else if (externalEps.Count == 0)
            {
                foreach (var ip in sp.ExternalIps.Where(_ => unusable != "drop")) Claim(noEndpoints, $"{ip} . {proto} . {sp.Port}", unusable, sp);
                if (sp.NodePort > 0) Claim(noEndpointNodePorts, $"{proto} . {sp.NodePort}", unusable, sp);
            }
            if (proto == "udp")
            {
                foreach (var ip in external) udp[new UdpTarget(ip, sp.Port)] = externalEps.Select(e => e.Ip).ToHashSet();
                if (sp.NodePort > 0) udp[new UdpTarget(null, sp.NodePort)] = externalEps.Select(e => e.Ip).ToHashSet();
            }
        }
        return new ProxyRuleset(t, udp, conflicts);
    }

    /// <summary>
    /// The endpoints traffic may go to (on <paramref name="node"/> only, when given): the ready ones, or if none is ready
    /// the ones still serving while terminating (kube-proxy's fallback, so a rolling update loses no connection).
    /// </summary>
    internal static List<ServiceEndpoint> Usable(IReadOnlyList<ServiceEndpoint> endpoints, string? node)
    {
        var pool = endpoints.Where(e => node is null || e.NodeName == node).ToList();
        var ready = pool.Where(e => e.Ready).ToList();
        return ready.Count > 0 ? ready : [.. pool.Where(e => e.Serving && e.Terminating)];
    }

    // The selection chain over these endpoints (cluster-ID or local-ID), with their endpoint chains and affinity sets.
    static string Select(NftTable t, ServicePort sp, string kind, List<ServiceEndpoint> endpoints)
    {
        var name = $"{kind}-{sp.Id}";
        if (t.Chains.ContainsKey(name)) return name;
        var rules = t.Chain(name).Rules;
        var chains = new List<string>();
        foreach (var ep in endpoints)
        {
            var chain = $"ep-{sp.Id}__{ep.Key}";
            chains.Add(chain);
            if (sp.AffinitySeconds is not null) rules.Add($"ip saddr @aff-{sp.Id}__{ep.Key} goto {chain}");
            if (t.Chains.ContainsKey(chain)) continue;
            var epRules = t.Chain(chain).Rules;
            // Hairpin: a pod that lands on itself must see the reply come from the Service, so it is masqueraded.
            epRules.Add($"ip saddr {ep.Ip} jump mark-for-masquerade");
            if (sp.AffinitySeconds is int timeout)
            {
                t.Set($"aff-{sp.Id}__{ep.Key}", false, $"type ipv4_addr; flags dynamic,timeout; timeout {timeout}s;", dynamic: true);
                epRules.Add($"update @aff-{sp.Id}__{ep.Key} {{ ip saddr }}");
            }
            epRules.Add($"meta l4proto {sp.Protocol} dnat to {ep.Ip}:{ep.Port}");
        }
        rules.Add(chains.Count == 1 ? $"goto {chains[0]}"
            : $"numgen random mod {chains.Count} vmap {{ {string.Join(", ", chains.Select((c, i) => $"{i} : goto {c}"))} }}");
        return name;
    }
}
