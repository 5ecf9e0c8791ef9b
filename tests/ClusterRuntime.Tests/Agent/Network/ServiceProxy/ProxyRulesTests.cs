using System.Net;
// The renderer's text for a few Services: what each feature puts in the table, and that equal input gives equal text.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Network.ServiceProxy;
using static Appliance.ClusterRuntime.Tests.Agent.Network.ServiceProxy.ProxyObjects;

namespace Appliance.ClusterRuntime.Tests.Agent.Network.ServiceProxy;

[Trait("Category", "Unit")]
public sealed class ProxyRulesTests
{
    const string Tcp = "TCP";

    static string Render(JsonObject[] services, JsonObject[] slices, ProxyNode? node = null) =>
        ProxyRules.Render("appliance", services, slices, node ?? NodeA).Table.Text;

    [Fact]
    public void ClusterIp_ChoosesAtRandomAmongReadyEndpointsOnly()
    {
        var text = Render([Service("web", "10.43.0.10")],
            [Slice("web", 8080, Tcp, new Ep("10.42.0.11"), new Ep("10.42.0.12", Ready: false, Serving: false), new Ep("10.42.0.13", Node: "node-b"))]);
        Assert.Contains("10.43.0.10 . tcp . 80 : goto svc-default/web/tcp/80", text);
        Assert.Contains("numgen random mod 2 vmap { 0 : goto ep-default/web/tcp/80__10.42.0.11/8080, 1 : goto ep-default/web/tcp/80__10.42.0.13/8080 }", text);
        Assert.Contains("meta l4proto tcp dnat to 10.42.0.13:8080", text);
        Assert.Contains("ip saddr 10.42.0.11 jump mark-for-masquerade", text); // hairpin
        Assert.Contains("ip saddr != 10.42.0.0/16 jump mark-for-masquerade", text);
        Assert.DoesNotContain("10.42.0.12", text);
        Assert.Contains("ip saddr 10.42.0.0/16 ip daddr != 10.42.0.0/16 masquerade fully-random", text);
    }

    [Fact]
    public void AddressesTheNodeServesItself_AreNotDroppedWithTheRestOfTheServiceRange()
    {
        var text = Render([], [], NodeA with { LocalServiceAddresses = [IPAddress.Parse("10.43.0.10")] });
        var exempt = text.IndexOf("ip daddr 10.43.0.10 return", StringComparison.Ordinal);
        Assert.True(exempt > 0, text);
        Assert.True(exempt < text.IndexOf("ip daddr 10.43.0.0/16 drop", StringComparison.Ordinal), text);
        Assert.DoesNotContain("10.43.0.10 return", Render([], []));
    }

    [Fact]
    public void SameInput_InAnyOrder_GivesTheSameText()
    {
        JsonObject[] services = [.. Enumerable.Range(1, 20).Select(i => Service($"s{i}", $"10.43.1.{i}", type: i % 3 == 0 ? "NodePort" : "ClusterIP", nodePort: i % 3 == 0 ? 30000 + i : 0, affinity: i % 4 == 0))];
        JsonObject[] slices = [.. Enumerable.Range(1, 20).Select(i => Slice($"s{i}", 8080, Tcp, [.. Enumerable.Range(1, 5).Select(j => new Ep($"10.42.{i}.{j}"))]))];
        var first = Render(services, slices);
        var shuffled = Render([.. services.Reverse()], [.. slices.OrderBy(s => s.ToJsonString().GetHashCode())]);
        Assert.Equal(first, shuffled);
        Assert.Equal(first, Render(services, slices));
    }

    [Fact]
    public void NoEndpoints_RejectsOnTheClusterIpAndTheNodePort_AndTerminatingServingEndpointsAreTheFallback()
    {
        var text = Render([Service("empty", "10.43.0.20", type: "NodePort", nodePort: 30020)], [Slice("empty", 8080, Tcp, new Ep("10.42.0.11", Ready: false, Serving: false))]);
        Assert.Contains("10.43.0.20 . tcp . 80 : goto reject-chain", text);
        Assert.Contains("tcp . 30020 : goto reject-chain", text);
        Assert.DoesNotContain("svc-default/empty", text);
        Assert.Contains("meta l4proto tcp reject with tcp reset", text);

        // Every endpoint terminating: the ones still serving take the traffic rather than none.
        text = Render([Service("rolling", "10.43.0.21")], [Slice("rolling", 8080, Tcp, new Ep("10.42.0.11", Ready: false, Terminating: true), new Ep("10.42.0.12", Ready: false, Serving: false, Terminating: true))]);
        Assert.Contains("goto ep-default/rolling/tcp/80__10.42.0.11/8080", text);
        Assert.DoesNotContain("10.42.0.12", text);
    }

    [Fact]
    public void LocalPolicies_UseOnlyThisNodesEndpoints_AndDropWhenThereAreNone()
    {
        JsonObject[] services = [Service("ext", "10.43.0.30", type: "LoadBalancer", port: 8081, nodePort: 30030, externalPolicy: "Local", ingress: ["10.0.0.10"]), Service("int", "10.43.0.31", internalPolicy: "Local")];
        JsonObject[] slices = [Slice("ext", 8080, Tcp, new Ep("10.42.0.11", Node: "node-a"), new Ep("10.42.1.11", Node: "node-b")), Slice("int", 8080, Tcp, new Ep("10.42.1.12", Node: "node-b"))];
        var onA = Render(services, slices);
        Assert.Contains("10.0.0.10 . tcp . 8081 : goto ext-default/ext/tcp/8081", onA); // the LB port on the node address
        Assert.Contains("tcp . 30030 : goto ext-default/ext/tcp/8081", onA);
        Assert.Contains("goto local-default/ext/tcp/8081", onA);
        Assert.Contains("10.43.0.31 . tcp . 80 : drop", onA); // iTP Local, no endpoint here
        var local = onA[onA.IndexOf("chain local-default/ext/tcp/8081", StringComparison.Ordinal)..];
        Assert.Contains("goto ep-default/ext/tcp/8081__10.42.0.11/8080", local[..local.IndexOf('}')]);
        Assert.DoesNotContain("10.42.1.11", local[..local.IndexOf('}')]);

        // On a node without a local endpoint the LB port is not opened, the NodePort drops.
        var onC = Render(services, slices, NodeA with { Name = "node-c" });
        Assert.DoesNotContain("10.0.0.10 . tcp . 8081", onC);
        Assert.Contains("tcp . 30030 : drop", onC);
        Assert.Contains("10.43.0.30 . tcp . 8081 : goto svc-default/ext/tcp/8081", onC); // the ClusterIP still serves pods
    }

    [Fact]
    public void SessionAffinity_KeepsClientsInTimedSetsPerEndpoint()
    {
        var text = Render([Service("sticky", "10.43.0.40", affinity: true, affinityTimeout: 600)], [Slice("sticky", 8080, Tcp, new Ep("10.42.0.11"), new Ep("10.42.0.12"))]);
        Assert.Contains("set aff-default/sticky/tcp/80__10.42.0.11/8080 {\n\t\ttype ipv4_addr; flags dynamic,timeout; timeout 600s;", text);
        Assert.Contains("ip saddr @aff-default/sticky/tcp/80__10.42.0.12/8080 goto ep-default/sticky/tcp/80__10.42.0.12/8080", text);
        Assert.Contains("update @aff-default/sticky/tcp/80__10.42.0.11/8080 { ip saddr }", text);
    }

    [Fact]
    public void ALoadBalancerPort_IsOpenedOnlyOnTheAddressesOfItsIngress()
    {
        // "held" was placed on this node; "pending" (same port) was not: the node's address carries only "held".
        JsonObject[] slices = [Slice("held", 8080, Tcp, new Ep("10.42.0.11")), Slice("pending", 8080, Tcp, new Ep("10.42.0.12")), Slice("unplaced", 8080, Tcp, new Ep("10.42.0.13"))];
        var r = ProxyRules.Render("appliance", [Service("pending", "10.43.0.52", port: 8081, type: "LoadBalancer", nodePort: 30052, ingress: []),
            Service("held", "10.43.0.53", port: 8081, type: "LoadBalancer", nodePort: 30053, ingress: ["10.0.0.10", "10.0.0.11"]),
            Service("unplaced", "10.43.0.54", port: 8082, type: "LoadBalancer", nodePort: 30054)], slices, NodeA);
        Assert.Contains("10.0.0.10 . tcp . 8081 : goto ext-default/held/tcp/8081", r.Table.Text);
        Assert.Contains("10.0.0.11 . tcp . 8081 : goto ext-default/held/tcp/8081", r.Table.Text); // another node's address, reached through this one
        Assert.DoesNotContain("10.0.0.10 . tcp . 8082", r.Table.Text); // no ingress yet (no controller): nothing on the node's address
        Assert.Empty(r.Conflicts);
        // Their NodePorts and ClusterIPs are theirs whatever the placement.
        Assert.Contains("tcp . 30052 : goto ext-default/pending/tcp/8081", r.Table.Text);
        Assert.Contains("10.43.0.52 . tcp . 8081 : goto svc-default/pending/tcp/8081", r.Table.Text);
        Assert.Contains("tcp . 30054 : goto ext-default/unplaced/tcp/8082", r.Table.Text);
    }

    [Fact]
    public void ADestinationClaimedTwice_GoesToTheFirstServiceByName_AndIsReported()
    {
        // Two Services listing one address (a stale status while the controller moves a port): one wins, by name.
        var r = ProxyRules.Render("appliance", [Service("b", "10.43.0.51", port: 8081, type: "LoadBalancer", nodePort: 30051, ingress: ["10.0.0.10"]), Service("a", "10.43.0.50", port: 8081, type: "LoadBalancer", nodePort: 30050, ingress: ["10.0.0.10"])],
            [Slice("a", 8080, Tcp, new Ep("10.42.0.11")), Slice("b", 8080, Tcp, new Ep("10.42.0.12"))], NodeA);
        Assert.Contains("10.0.0.10 . tcp . 8081 : goto ext-default/a/tcp/8081", r.Table.Text);
        Assert.DoesNotContain("10.0.0.10 . tcp . 8081 : goto ext-default/b", r.Table.Text);
        Assert.Equal(["default/b/tcp/8081: 10.0.0.10 . tcp . 8081 is already taken"], r.Conflicts);
    }

    [Fact]
    public void UdpTargets_ListTheEndpointsBehindEachClusterIpAndNodePort()
    {
        var r = ProxyRules.Render("appliance", [Service("dns", "10.43.0.10", port: 53, protocol: "UDP", type: "NodePort", nodePort: 30053)], [Slice("dns", 5353, "UDP", new Ep("10.42.0.11"), new Ep("10.42.0.12"))], NodeA);
        Assert.Equal(["10.42.0.11", "10.42.0.12"], r.UdpTargets[new UdpTarget("10.43.0.10", 53)].Order());
        Assert.Equal(["10.42.0.11", "10.42.0.12"], r.UdpTargets[new UdpTarget(null, 30053)].Order());
        Assert.Equal(["-p", "udp", "--orig-port-dst", "30053"], new UdpTarget(null, 30053).ConntrackFilter());
    }

    [Fact]
    public void UpdateScript_WritesOnlyTheDifference_DeletesWhatWentAway_AndKeepsAffinitySets()
    {
        var before = ProxyRules.Render("appliance", [Service("gone", "10.43.0.60"), Service("sticky", "10.43.0.61", affinity: true), Service("web", "10.43.0.62")],
            [Slice("gone", 8080, Tcp, new Ep("10.42.0.11")), Slice("sticky", 8080, Tcp, new Ep("10.42.0.12")), Slice("web", 8080, Tcp, new Ep("10.42.0.13"))], NodeA).Table;
        var after = ProxyRules.Render("appliance", [Service("sticky", "10.43.0.61", affinity: true), Service("web", "10.43.0.62")],
            [Slice("sticky", 8080, Tcp, new Ep("10.42.0.12")), Slice("web", 8080, Tcp, new Ep("10.42.0.13"), new Ep("10.42.0.14"))], NodeA).Table;
        var script = after.UpdateScript(before);
        var lines = script.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("add chain ip appliance ep-default/web/tcp/80__10.42.0.14/8080", lines);
        Assert.Contains("flush chain ip appliance cluster-default/web/tcp/80", lines);
        Assert.Contains("add rule ip appliance cluster-default/web/tcp/80 numgen random mod 2 vmap { 0 : goto ep-default/web/tcp/80__10.42.0.13/8080, 1 : goto ep-default/web/tcp/80__10.42.0.14/8080 }", lines);
        Assert.Contains("delete element ip appliance service-ips { 10.43.0.60 . tcp . 80 }", lines);
        Assert.Contains("delete element ip appliance cluster-ips { 10.43.0.60 }", lines);
        string[] gone = ["cluster-default/gone/tcp/80", "ep-default/gone/tcp/80__10.42.0.11/8080", "svc-default/gone/tcp/80"];
        Assert.Equal([.. gone.Select(c => "flush chain ip appliance " + c), .. gone.Select(c => "delete chain ip appliance " + c)],
            lines.SkipWhile(l => !l.StartsWith("flush chain ip appliance cluster-default/gone", StringComparison.Ordinal)));
        // Untouched: the sticky Service's chains and its affinity set (with the clients it holds).
        Assert.DoesNotContain(lines, l => l.Contains("sticky"));
        Assert.DoesNotContain(lines, l => l.Contains("flush table") || l.Contains("delete table"));
        Assert.Equal("", after.UpdateScript(after));
        // Unknown previous state: the table is replaced whole.
        Assert.StartsWith("add table ip appliance\ndelete table ip appliance\ntable ip appliance {\n", after.UpdateScript(null));
    }
}
