// The Service proxy's table applied with the real nft in a node namespace, and real TCP/UDP traffic through it.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Network.ServiceProxy;
using static Appliance.ClusterRuntime.Tests.Agent.Network.ServiceProxy.ProxyObjects;

namespace Appliance.ClusterRuntime.Tests.Agent.Network.ServiceProxy;

[Trait("Category", "External")]
public sealed class ServiceProxyNetnsTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    const string Tcp = "TCP", Udp = "UDP";

    [Fact]
    public async Task ClusterIp_ReachesOnlyReadyEndpoints_SpreadsOverAll_AndPinsAClientWithAffinity()
    {
        await using var lab = await ProxyLab.StartAsync();
        // p1 ready, p2 not ready: every connection lands on p1.
        await lab.Proxy.SyncAsync([Service("web", "10.43.0.10")], [Slice("web", 8080, Tcp, new Ep(ProxyLab.PodIp(1)), new Ep(ProxyLab.PodIp(2), Ready: false, Serving: false))], NodeA, Ct);
        var answers = await lab.ClientAsync(lab.Pod(4), "tcp", "10.43.0.10", 80, 20);
        Assert.All(answers, a => Assert.Equal("p1", a.Answer));

        // Three ready endpoints: 60 connections reach each of them (a miss has odds of 3 × (2/3)^60).
        await lab.Proxy.SyncAsync([Service("web", "10.43.0.10")], [Slice("web", 8080, Tcp, new Ep(ProxyLab.PodIp(1)), new Ep(ProxyLab.PodIp(2)), new Ep(ProxyLab.PodIp(3)))], NodeA, Ct);
        answers = await lab.ClientAsync(lab.Pod(4), "tcp", "10.43.0.10", 80, 60);
        Assert.Equal(["p1", "p2", "p3"], answers.Select(a => a.Answer).Distinct().Order());

        // ClientIP affinity: the first choice holds for every later connection of this client.
        await lab.Proxy.SyncAsync([Service("web", "10.43.0.10", affinity: true)], [Slice("web", 8080, Tcp, new Ep(ProxyLab.PodIp(1)), new Ep(ProxyLab.PodIp(2)), new Ep(ProxyLab.PodIp(3)))], NodeA, Ct);
        answers = await lab.ClientAsync(lab.Pod(4), "tcp", "10.43.0.10", 80, 30);
        Assert.Single(answers.Select(a => a.Answer).Distinct());
        Assert.StartsWith("p", answers[0].Answer);

        // A later apply (another Service added) keeps the client's pinning: affinity sets survive applies.
        var pinned = answers[0].Answer;
        var result = await lab.Proxy.SyncAsync([Service("web", "10.43.0.10", affinity: true), Service("other", "10.43.0.11")],
            [Slice("web", 8080, Tcp, new Ep(ProxyLab.PodIp(1)), new Ep(ProxyLab.PodIp(2)), new Ep(ProxyLab.PodIp(3)))], NodeA, Ct);
        Assert.True(result.Changed);
        answers = await lab.ClientAsync(lab.Pod(4), "tcp", "10.43.0.10", 80, 10);
        Assert.All(answers, a => Assert.Equal(pinned, a.Answer));
    }

    [Fact]
    public async Task NoEndpoints_RefuseAtOnce_ForClusterIpAndNodePort_TcpAndUdp()
    {
        await using var lab = await ProxyLab.StartAsync(pods: 2);
        await lab.Proxy.SyncAsync([Service("empty", "10.43.0.20", type: "NodePort", nodePort: 30020), Service("dns", "10.43.0.21", port: 53, protocol: Udp)],
            [Slice("empty", 8080, Tcp, new Ep(ProxyLab.PodIp(1), Ready: false, Serving: false))], NodeA, Ct);
        foreach (var (ns, proto, host, port) in new[] { (lab.Pod(2), "tcp", "10.43.0.20", 80), (lab.Lan, "tcp", "10.0.0.10", 30020), (lab.Pod(2), "udp", "10.43.0.21", 53) })
        {
            var a = Assert.Single(await lab.ClientAsync(ns, proto, host, port));
            Assert.Equal("refused", a.Answer);
            Assert.True(a.Seconds < 1, $"{proto} {host}:{port} was refused after {a.Seconds} s");
        }
        // A port the ClusterIP does not serve is refused too.
        Assert.Equal("refused", Assert.Single(await lab.ClientAsync(lab.Pod(2), "tcp", "10.43.0.20", 81)).Answer);

        // The endpoint becomes ready: the same addresses answer.
        await lab.Proxy.SyncAsync([Service("empty", "10.43.0.20", type: "NodePort", nodePort: 30020)], [Slice("empty", 8080, Tcp, new Ep(ProxyLab.PodIp(1)))], NodeA, Ct);
        Assert.Equal("p1", Assert.Single(await lab.ClientAsync(lab.Pod(2), "tcp", "10.43.0.20", 80)).Answer);
        Assert.Equal("p1", Assert.Single(await lab.ClientAsync(lab.Lan, "tcp", "10.0.0.10", 30020)).Answer);
    }

    [Fact]
    public async Task NodePortAndLoadBalancer_AnswerFromTheLan_AndExternalPolicyLocal_OnlyOnANodeWithALocalEndpoint()
    {
        await using var lab = await ProxyLab.StartAsync(pods: 2);
        JsonObject[] services = [Service("np", "10.43.0.30", type: "NodePort", nodePort: 30030), Service("lb", "10.43.0.31", port: 8081, type: "LoadBalancer", nodePort: 30031, ingress: ["10.0.0.10"]),
            Service("local", "10.43.0.32", type: "NodePort", nodePort: 30032, externalPolicy: "Local")];
        JsonObject[] slices = [Slice("np", 8080, Tcp, new Ep(ProxyLab.PodIp(1))), Slice("lb", 8080, Tcp, new Ep(ProxyLab.PodIp(2))), Slice("local", 8080, Tcp, new Ep(ProxyLab.PodIp(1), Node: "node-a"))];
        await lab.Proxy.SyncAsync(services, slices, NodeA, Ct);
        Assert.Equal("p1", Assert.Single(await lab.ClientAsync(lab.Lan, "tcp", "10.0.0.10", 30030)).Answer);
        Assert.Equal("p2", Assert.Single(await lab.ClientAsync(lab.Lan, "tcp", "10.0.0.10", 8081)).Answer);
        Assert.Equal("p2", Assert.Single(await lab.ClientAsync(lab.Lan, "tcp", "10.0.0.10", 30031)).Answer);
        Assert.Equal("p1", Assert.Single(await lab.ClientAsync(lab.Lan, "tcp", "10.0.0.10", 30032)).Answer);

        // The same table rendered for another node (the endpoint is not on it): the Local NodePort does not answer
        // from the LAN, while its ClusterIP still serves pods, and the Cluster-policy ports still answer.
        var nodeB = NodeA with { Name = "node-b" };
        await lab.Proxy.SyncAsync(services, slices, nodeB, Ct);
        Assert.NotEqual("p1", Assert.Single(await lab.ClientAsync(lab.Lan, "tcp", "10.0.0.10", 30032)).Answer);
        Assert.Equal("p1", Assert.Single(await lab.ClientAsync(lab.Pod(2), "tcp", "10.43.0.32", 80)).Answer);
        Assert.Equal("p1", Assert.Single(await lab.ClientAsync(lab.Lan, "tcp", "10.0.0.10", 30030)).Answer);
    }

    [Fact]
    public async Task ALoadBalancerPort_ReachesOnlyTheServiceWhoseIngressListsTheNode()
    {
        await using var lab = await ProxyLab.StartAsync(pods: 2);
        JsonObject[] slices = [Slice("a-pending", 8080, Tcp, new Ep(ProxyLab.PodIp(2))), Slice("b-held", 8080, Tcp, new Ep(ProxyLab.PodIp(1)))];
        JsonObject Pending(params string[] ingress) => Service("a-pending", "10.43.0.80", port: 8090, type: "LoadBalancer", nodePort: 30080, ingress: ingress);
        // The controller placed b-held on this node; a-pending (same port, first by name) waits with no ingress.
        await lab.Proxy.SyncAsync([Pending(), Service("b-held", "10.43.0.81", port: 8090, type: "LoadBalancer", nodePort: 30081, ingress: ["10.0.0.10"])], slices, NodeA, Ct);
        Assert.All(await lab.ClientAsync(lab.Lan, "tcp", "10.0.0.10", 8090, 10), a => Assert.Equal("p1", a.Answer));

        // The holder is deleted and the controller lists this node for the other one: the port reaches its pod.
        await lab.Proxy.SyncAsync([Pending("10.0.0.10")], slices, NodeA, Ct);
        Assert.All(await lab.ClientAsync(lab.Lan, "tcp", "10.0.0.10", 8090, 10), a => Assert.Equal("p2", a.Answer));

        // Not listed (no controller, or the port is taken here): the node's address does not answer on the port.
        await lab.Proxy.SyncAsync([Pending()], slices, NodeA, Ct);
        Assert.Equal("refused", Assert.Single(await lab.ClientAsync(lab.Lan, "tcp", "10.0.0.10", 8090)).Answer);
        Assert.Equal("p2", Assert.Single(await lab.ClientAsync(lab.Lan, "tcp", "10.0.0.10", 30080)).Answer); // its NodePort still answers
    }

    [Fact]
    public async Task AHostProcessOnTheLoadBalancerPort_AnswersUntilTheNodeIsListed_ThenOnlyOnLoopback()
    {
        await using var lab = await ProxyLab.StartAsync(pods: 1, nodeServer: true);
        JsonObject[] slices = [Slice("web", 8080, Tcp, new Ep(ProxyLab.PodIp(1)))];
        JsonObject Web(params string[] ingress) => Service("web", "10.43.0.90", port: 8080, type: "LoadBalancer", nodePort: 30090, ingress: ingress);
        // Not placed on this node: the node's own listener (sshd, a web UI) keeps its port on the node's address.
        await lab.Proxy.SyncAsync([Web()], slices, NodeA, Ct);
        Assert.Equal("node", Assert.Single(await lab.ClientAsync(lab.Lan, "tcp", "10.0.0.10", 8080)).Answer);
        // Placed: the Service's DNAT comes before any socket, from the LAN and from the node itself; loopback stays the host's.
        await lab.Proxy.SyncAsync([Web("10.0.0.10")], slices, NodeA, Ct);
        Assert.Equal("p1", Assert.Single(await lab.ClientAsync(lab.Lan, "tcp", "10.0.0.10", 8080)).Answer);
        Assert.Equal("p1", Assert.Single(await lab.ClientAsync(lab.Node, "tcp", "10.0.0.10", 8080)).Answer);
        Assert.Equal("node", Assert.Single(await lab.ClientAsync(lab.Node, "tcp", "127.0.0.1", 8080)).Answer);
    }

    [Fact]
    public async Task Hairpin_APodReachingItsOwnServiceLandsOnItself_AndPodTrafficLeavingTheClusterIsMasqueraded()
    {
        await using var lab = await ProxyLab.StartAsync(pods: 1, lanServer: true);
        await lab.Proxy.SyncAsync([Service("self", "10.43.0.40")], [Slice("self", 8080, Tcp, new Ep(ProxyLab.PodIp(1)))], NodeA, Ct);
        Assert.Equal("p1", Assert.Single(await lab.ClientAsync(lab.Pod(1), "tcp", "10.43.0.40", 80)).Answer);
        // The LAN server answers with the address it sees: the node's, not the pod's.
        Assert.Equal("10.0.0.10", Assert.Single(await lab.ClientAsync(lab.Pod(1), "tcp", "10.0.0.20", 8080)).Answer);
    }

    [Fact]
    public async Task TheNodeItself_ReachesAClusterIpOnceTheServiceCidrHasARoute_AndANodePortOnItsOwnAddress()
    {
        await using var lab = await ProxyLab.StartAsync(pods: 1);
        await lab.Proxy.SyncAsync([Service("web", "10.43.0.70", type: "NodePort", nodePort: 30070)], [Slice("web", 8080, Tcp, new Ep(ProxyLab.PodIp(1)))], NodeA, Ct);
        // No default route: the socket finds no route to the ClusterIP before any hook sees the packet (ENETUNREACH).
        Assert.Equal("error:101", Assert.Single(await lab.ClientAsync(lab.Node, "tcp", "10.43.0.70", 80)).Answer);
        (await ProcessRunner.RunAsync("ip", ["-n", lab.Node, "route", "add", "10.43.0.0/16", "dev", "br0"], ct: Ct)).Ok();
        Assert.Equal("p1", Assert.Single(await lab.ClientAsync(lab.Node, "tcp", "10.43.0.70", 80)).Answer);
        Assert.Equal("p1", Assert.Single(await lab.ClientAsync(lab.Node, "tcp", "10.0.0.10", 30070)).Answer);
    }

    [Fact]
    public async Task Udp_AClientReusingItsSourcePort_ReachesTheNewEndpoint_AfterTheOldOneWentAway()
    {
        await using var lab = await ProxyLab.StartAsync(pods: 3);
        await lab.Proxy.SyncAsync([Service("dns", "10.43.0.50", port: 53, protocol: Udp)], [Slice("dns", 5353, Udp, new Ep(ProxyLab.PodIp(1)))], NodeA, Ct);
        Assert.Equal("p1", Assert.Single(await lab.ClientAsync(lab.Pod(3), "udp", "10.43.0.50", 53, sourcePort: 40053)).Answer);

        // p1 still runs (its server would keep answering a stale flow); the Service now points at p2 only.
        var result = await lab.Proxy.SyncAsync([Service("dns", "10.43.0.50", port: 53, protocol: Udp)], [Slice("dns", 5353, Udp, new Ep(ProxyLab.PodIp(2)))], NodeA, Ct);
        Assert.Equal("p2", Assert.Single(await lab.ClientAsync(lab.Pod(3), "udp", "10.43.0.50", 53, sourcePort: 40053)).Answer);
        Assert.Equal(1, result.FlushedUdpEndpoints);
    }

    [Fact]
    public async Task Sync_AppliesOnlyChanges_AndCleanupLeavesNoTable()
    {
        await using var lab = await ProxyLab.StartAsync(pods: 1);
        JsonObject[] services = [Service("web", "10.43.0.60")];
        JsonObject[] slices = [Slice("web", 8080, Tcp, new Ep(ProxyLab.PodIp(1)))];
        Assert.True((await lab.Proxy.SyncAsync(services, slices, NodeA, Ct)).Changed);
        Assert.False((await lab.Proxy.SyncAsync(services, slices, NodeA, Ct)).Changed);
        Assert.Contains("table ip appliance", await lab.RulesetAsync());
        Assert.Contains(lab.Log.Lines, l => l.Contains("applied") && l.Contains(" ms"));

        // A proxy that starts afresh (an agent restart) replaces the table left behind.
        var again = new NftProxy(lab.Log, command: new(["ip", "netns", "exec", lab.Node]));
        Assert.True((await again.SyncAsync(services, [], NodeA, Ct)).Changed);
        Assert.Equal("refused", Assert.Single(await lab.ClientAsync(lab.Pod(1), "tcp", "10.43.0.60", 80)).Answer);

        // Someone flushes the whole ruleset (a firewall service starting): the next sync, though nothing changed, notices
        // and writes the table again.
        var watchful = new NftProxy(lab.Log, command: new(["ip", "netns", "exec", lab.Node]), checkInterval: TimeSpan.Zero);
        Assert.True((await watchful.SyncAsync(services, slices, NodeA, Ct)).Changed);
        (await ProcessRunner.RunAsync("ip", ["netns", "exec", lab.Node, "nft", "flush", "ruleset"], ct: Ct)).Ok();
        Assert.True((await watchful.SyncAsync(services, slices, NodeA, Ct)).Changed);
        Assert.Equal("p1", Assert.Single(await lab.ClientAsync(lab.Pod(1), "tcp", "10.43.0.60", 80)).Answer);
        // Flushed again, then a change: the refused difference is replaced by the whole table.
        (await ProcessRunner.RunAsync("ip", ["netns", "exec", lab.Node, "nft", "flush", "ruleset"], ct: Ct)).Ok();
        Assert.True((await watchful.SyncAsync(services, [], NodeA, Ct)).Changed);
        Assert.Equal("refused", Assert.Single(await lab.ClientAsync(lab.Pod(1), "tcp", "10.43.0.60", 80)).Answer);

        await again.CleanupAsync(Ct);
        Assert.Equal("", (await lab.RulesetAsync()).Trim());
        await again.CleanupAsync(Ct); // nothing left: still fine
    }
}
