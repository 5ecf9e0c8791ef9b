// Renders NetworkPolicies into the policy table for the pods of one node (what kube-router's policy controller does, in nftables).
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Network.ServiceProxy;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Agent.Network.Policy;

/// <summary>
/// The pure renderer: (NetworkPolicies, Pods, Namespaces, node name) → the whole table. Same input, same text. Layout:
/// <list type="bullet">
/// <item><c>forward</c> (filter hook, after the proxy's DNAT, also bridged pod-to-pod traffic through br_netfilter):
/// replies of allowed flows pass (<c>ct state established,related accept</c>); then the source through
/// <c>@egress-pods</c>, the destination through <c>@ingress-pods</c>. <c>input</c>: traffic from a pod to the node
/// passes (upstream: traffic to and from the pod's node is always allowed), except to the addresses the node serves
/// for a Service (the cluster DNS), which go through <c>@egress-pods</c> as a DNS pod's traffic would.</item>
/// <item>Maps <c>egress-pods</c>/<c>ingress-pods</c>: the address of each pod of this node that a policy isolates in
/// that direction → <c>jump egress-IP</c>/<c>jump ingress-IP</c>. A pod no policy selects is not in the map: all open.</item>
/// <item><c>ingress-IP</c>, <c>egress-IP</c>: one line per (rule, peer, port) of every policy that selects the pod, the
/// union of what they allow, after the pod's own address (a pod cannot block itself); a match accepts (ingress) or
/// returns to the ingress check (egress); the last line is <c>goto refuse</c>: TCP reset, else ICMP admin-prohibited.</item>
/// </list>
/// The node's own traffic (kubelet probes, host-network pods) leaves through the output hook, which is not filtered.
/// </summary>
public static class PolicyRules
{
    /// <summary>What the <c>refuse</c> chain always holds (the writer's check that the table is still there).</summary>
    public const string RefuseProbe = "tcp reset";

    const string AddressMap = "type ipv4_addr : verdict;";

    /// <summary>
    /// Renders table <paramref name="tableName"/> for the pods of node <paramref name="nodeName"/>.
    /// <paramref name="serviceAddresses"/> are the addresses this node serves on behalf of a Service (the cluster
    /// DNS): a pod reaches the node itself freely, as upstream allows, but these only when a rule allows them.
    /// </summary>
    public static NftTable Render(string tableName, IEnumerable<JsonObject> policies, IEnumerable<JsonObject> pods, IEnumerable<JsonObject> namespaces, string nodeName,
        IReadOnlyList<System.Net.IPAddress>? serviceAddresses = null)
    {
        var t = new NftTable(tableName);
        t.Chain("forward", "type filter hook forward priority filter; policy accept;").Rules.AddRange([
            "ct state established,related accept", "ip saddr vmap @egress-pods", "ip daddr vmap @ingress-pods"]);
        var served = (serviceAddresses ?? []).Where(a => a.AddressFamily == AddressFamily.InterNetwork).Select(a => a.ToString()).Distinct().Order(StringComparer.Ordinal).ToList();
        if (served.Count > 0)
            t.Chain("input", "type filter hook input priority filter; policy accept;").Rules.AddRange([
                "ct state established,related accept", $"ip daddr != {Set(served)} accept", "ip saddr vmap @egress-pods"]);
        // A TCP reset is not rate-limited as ICMP errors are (net.ipv4.icmp_ratelimit: after a burst, one a second
        // per client), but the reset of a bridged packet leaves without passing NAT again, so a client of a Service
        // would see it come from the pod and ignore it: DNATed flows get the ICMP error, which conntrack translates.
        t.Chain("refuse").Rules.AddRange([$"meta l4proto tcp ct status & dnat == 0 reject with {RefuseProbe}", "reject with icmp type admin-prohibited"]);
        var maps = new Dictionary<bool, NftSet> { [true] = t.Set("ingress-pods", true, AddressMap), [false] = t.Set("egress-pods", true, AddressMap) };

        var all = PolicyPod.Read(pods);
        var ns = new PolicyNamespaces(namespaces);
        var list = policies.OrderBy(p => Meta.Namespace(p), StringComparer.Ordinal).ThenBy(p => Meta.Name(p), StringComparer.Ordinal).ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pod in all.Where(p => p.Node == nodeName && seen.Add(p.Ip)))
            foreach (var ingress in new[] { true, false })
            {
                var direction = ingress ? "ingress" : "egress";
                var selecting = list.Where(p => Meta.Namespace(p) == pod.Namespace && Types(p).Contains(direction)
                    && PolicySelect.Selector(p["spec"]?["podSelector"]).Matches(pod)).ToList();
                if (selecting.Count == 0) continue;
                var chain = $"{direction}-{pod.Ip}";
                maps[ingress].Elements.Add($"{pod.Ip} : jump {chain}");
                // A pod cannot block its own traffic (upstream), e.g. to itself through a Service.
                var rules = t.Chain(chain).Rules;
                rules.Add(ingress ? $"ip saddr {pod.Ip} accept" : $"ip daddr {pod.Ip} return");
                foreach (var policy in selecting)
                    foreach (var rule in (policy["spec"]?[direction] as JsonArray ?? []).OfType<JsonObject>())
                        rules.AddRange(RuleLines(rule, ingress, pod, Meta.Namespace(policy) ?? "", all, ns).Where(l => !rules.Contains(l)));
                rules.Add("goto refuse");
            }
        return t;
    }

    /// <summary>The directions a policy isolates: <c>policyTypes</c>, or when absent Ingress, and Egress if it has egress rules.</summary>
    internal static HashSet<string> Types(JsonObject policy)
    {
        var spec = policy["spec"] as JsonObject ?? [];
        if (spec["policyTypes"] is JsonArray { Count: > 0 } types) return [.. types.Select(t => t?.ToString().ToLowerInvariant() ?? "")];
        return spec["egress"] is JsonArray { Count: > 0 } ? ["ingress", "egress"] : ["ingress"];
    }

    // One rule's lines for pod `target`: every (peer, port) pair it allows. No peers: any address; no ports: anything.
    static List<string> RuleLines(JsonObject rule, bool ingress, PolicyPod target, string policyNamespace, IReadOnlyList<PolicyPod> all, PolicyNamespaces namespaces)
    {
        var verdict = ingress ? "accept" : "return";
        var addr = ingress ? "ip saddr" : "ip daddr";
        var peerList = (rule[ingress ? "from" : "to"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var anyPeer = peerList.Count == 0;
        var selected = new List<PolicyPod>();
        var matches = new List<string>();
        foreach (var peer in peerList)
        {
            if (peer["ipBlock"] is JsonObject block) { if (IpBlock(block, addr) is { } m) matches.Add(m); }
            else selected.AddRange(PolicySelect.Peers(peer, policyNamespace, all, namespaces));
        }
        selected = [.. selected.DistinctBy(p => p.Ip)];
        if (selected.Count > 0) matches.Insert(0, $"{addr} {Set(selected.Select(p => p.Ip))}");

        var lines = new List<string>();
        var ports = (rule["ports"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        if (ports.Count == 0) lines.AddRange(anyPeer ? [verdict] : matches.Select(m => $"{m} {verdict}"));
        foreach (var port in ports)
        {
            var proto = (port["protocol"]?.ToString() ?? "TCP").ToLowerInvariant();
            string? portMatch;
            switch (port["port"])
            {
                case null:
                    portMatch = $"meta l4proto {proto}";
                    break;
                case JsonValue v when v.TryGetValue<string>(out var name):
                    if (!ingress)
                    {
                        // Egress: the name is looked up in each destination pod; address blocks have no named ports.
                        var elements = (anyPeer ? all : selected).Select(q => q.Resolve(name, proto) is int n ? $"{q.Ip} . {proto} . {n}" : null).OfType<string>().ToList();
                        if (elements.Count > 0) lines.Add($"ip daddr . meta l4proto . th dport {Set(elements)} {verdict}");
                        continue;
                    }
                    portMatch = target.Resolve(name, proto) is int number ? $"meta l4proto {proto} th dport {number}" : null;
                    break;
                case JsonValue v when v.TryGetValue<int>(out var first):
                    var end = port["endPort"] is JsonValue e && e.TryGetValue<int>(out var last) && last > first ? $"-{last}" : "";
                    portMatch = $"meta l4proto {proto} th dport {first}{end}";
                    break;
                default:
                    portMatch = null;
                    break;
            }
            if (portMatch is null) continue;
            lines.AddRange(anyPeer ? [$"{portMatch} {verdict}"] : matches.Select(m => $"{m} {portMatch} {verdict}"));
        }
        return lines;
    }

    // An IPv4 block and its exceptions (an exception inside another is dropped: nft refuses overlapping elements).
    static string? IpBlock(JsonObject block, string addr)
    {
        if (NetworkPolicyValidation.ParseCidr(block["cidr"]?.ToString() ?? "") is not { } cidr || cidr.BaseAddress.AddressFamily != AddressFamily.InterNetwork) return null;
        var except = new List<System.Net.IPNetwork>();
        foreach (var e in (block["except"] as JsonArray ?? []).Select(x => NetworkPolicyValidation.ParseCidr(x?.ToString() ?? "")).OfType<System.Net.IPNetwork>()
                     .Where(x => x.BaseAddress.AddressFamily == AddressFamily.InterNetwork).OrderBy(x => x.PrefixLength))
            if (!except.Any(k => k.Contains(e.BaseAddress))) except.Add(e);
        var text = $"{addr} {cidr}";
        return except.Count == 0 ? text : $"{text} {addr} != {Set(except.Select(x => x.ToString()).Order(StringComparer.Ordinal))}";
    }

    static string Set(IEnumerable<string> elements)
    {
        var list = elements.ToList();
        return list.Count == 1 ? list[0] : $"{{ {string.Join(", ", list)} }}";
    }
}
