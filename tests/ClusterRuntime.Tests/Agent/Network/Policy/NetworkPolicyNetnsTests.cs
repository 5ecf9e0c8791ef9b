// The policy table applied with the real nft in a node namespace, and real TCP/UDP between "pod" namespaces on its bridge.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Network;
using Appliance.ClusterRuntime.Agent.Network.Policy;
using Appliance.ClusterRuntime.Tests.Agent.Network.ServiceProxy;
using static Appliance.ClusterRuntime.Tests.Agent.Network.Policy.TestPolicyObjects;

namespace Appliance.ClusterRuntime.Tests.Agent.Network.Policy;

/// <summary>
/// ProxyLab's node, bridge and pods p1..p4 (10.42.0.11..14, servers on TCP 8080 and 9090, UDP 5353): p1 "db" (app=db,
/// port 9090 named "web") in namespace shop, p2 (role=api) and p3 (no labels) in shop, p4 (role=api) in namespace
/// other (team=blue). The pods are bridged on the node, so every check also proves that same-node traffic meets the
/// policy in the forward hook.
/// </summary>
[Trait("Category", "External")]
public sealed class NetworkPolicyNetnsTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A TCP connection refused by policy: a reset, at once.</summary>
    const string Refused = "refused";

    /// <summary>What a UDP client, or a TCP client of a Service, sees of the policy's ICMP admin-prohibited: EHOSTUNREACH at once.</summary>
    const string Unreachable = "error:113";

    static readonly JsonObject[] Namespaces = [Namespace("shop", "team=red"), Namespace("other", "team=blue")];
    static readonly JsonObject[] Pods =
    [
        Pod("shop", "db", ProxyLab.PodIp(1), "app=db", ports: "web=9090"),
        Pod("shop", "api", ProxyLab.PodIp(2), "role=api"),
        Pod("shop", "plain", ProxyLab.PodIp(3)),
        Pod("other", "x", ProxyLab.PodIp(4), "role=api"),
    ];

    const string ClusterDns = "10.43.0.53";

    static NftPolicy PolicyFor(ProxyLab lab) => new(lab.Log, command: new HostCommand(["ip", "netns", "exec", lab.Node]));

    static async Task<string> Tcp(ProxyLab lab, int from, string host, int port = 8080)
    {
        var a = Assert.Single(await lab.ClientAsync(lab.Pod(from), "tcp", host, port));
        // A refusal by policy comes at once, never as a timeout.
        if (a.Answer is Refused or Unreachable) Assert.True(a.Seconds < 1, $"p{from} -> {host}:{port} was refused after {a.Seconds} s");
        return a.Answer;
    }

    static Task<string> Tcp(ProxyLab lab, int from, int to, int port = 8080) => Tcp(lab, from, ProxyLab.PodIp(to), port);

    [Fact]
    public async Task DefaultDenyIngress_Refuses_AndAnAllowByLabel_OpensExactlyThatPath()
    {
        await using var lab = await ProxyLab.StartAsync();
        var policy = PolicyFor(lab);
        Assert.True(await policy.SyncAsync([], Pods, Namespaces, "node-a", Ct));
        Assert.Equal("p1", await Tcp(lab, 2, 1));
        Assert.Equal("p1", await Tcp(lab, 4, 1));

        var deny = NetPol("shop", "default-deny", """{"podSelector":{},"policyTypes":["Ingress"]}""");
        await policy.SyncAsync([deny], Pods, Namespaces, "node-a", Ct);
        Assert.Equal(Refused, await Tcp(lab, 2, 1));
        Assert.Equal(Refused, await Tcp(lab, 4, 1));
        Assert.Equal(Refused, await Tcp(lab, 1, 2)); // every pod of shop is isolated
        Assert.Equal("p4", await Tcp(lab, 1, 4));      // other is not, and shop's egress is open
        // The node itself (kubelet probes) still reaches an isolated pod: its traffic leaves through output, not forward.
        var probe = await ProcessRunner.RunAsync("ip", ["netns", "exec", lab.Node, "python3", "-c",
            $"import socket; s = socket.create_connection(('{ProxyLab.PodIp(1)}', 8080), 2); print(s.recv(100).decode().strip())"], ct: Ct);
        Assert.Equal("p1", probe.Ok().Out.Trim());

        // Allow db from role=api pods of its own namespace, on 8080 only.
        var allow = NetPol("shop", "db-from-api", """
            {"podSelector":{"matchLabels":{"app":"db"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"role":"api"}}}],"ports":[{"port":8080}]}]}
            """);
        await policy.SyncAsync([deny, allow], Pods, Namespaces, "node-a", Ct);
        Assert.Equal("p1", await Tcp(lab, 2, 1));
        Assert.Equal(Refused, await Tcp(lab, 2, 1, 9090)); // another port
        Assert.Equal(Refused, await Tcp(lab, 3, 1));       // a pod without the label
        Assert.Equal(Refused, await Tcp(lab, 4, 1));       // the label, but in another namespace
        Assert.Equal(Refused, await Tcp(lab, 1, 2));       // the path is one way: api is still isolated

        // Through a Service: the policy sees the pod's real address and port after the proxy's DNAT (80 -> 8080).
        await lab.Proxy.SyncAsync([ProxyObjects.Service("db", "10.43.0.10")], [ProxyObjects.Slice("db", 8080, "TCP", new Ep(ProxyLab.PodIp(1)))], ProxyObjects.NodeA, Ct);
        Assert.Equal("p1", await Tcp(lab, 2, "10.43.0.10", 80));
        Assert.Equal(Unreachable, await Tcp(lab, 3, "10.43.0.10", 80));
        Assert.Equal("p1", await Tcp(lab, 1, "10.43.0.10", 80)); // to itself through the Service: a pod cannot block itself

        // Both selectors in one peer: role=api pods of the namespaces labelled team=blue; a named port of the target.
        var both = NetPol("shop", "db-from-blue", """
            {"podSelector":{"matchLabels":{"app":"db"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"team":"blue"}},"podSelector":{"matchLabels":{"role":"api"}}}],"ports":[{"port":"web"}]}]}
            """);
        await policy.SyncAsync([deny, both], Pods, Namespaces, "node-a", Ct);
        Assert.Equal("p1", await Tcp(lab, 4, 1, 9090));
        Assert.Equal(Refused, await Tcp(lab, 4, 1, 8080));
        Assert.Equal(Refused, await Tcp(lab, 2, 1, 9090)); // role=api, but shop is not team=blue

        // The policies go: everything is open again.
        Assert.True(await policy.SyncAsync([], Pods, Namespaces, "node-a", Ct));
        Assert.Equal("p1", await Tcp(lab, 3, 1));
    }

    [Fact]
    public async Task IpBlock_AllowsItsRange_ButNotItsExceptions_FromPodsAndTheLan()
    {
        await using var lab = await ProxyLab.StartAsync();
        (await ProcessRunner.RunAsync("ip", ["-n", lab.Lan, "route", "add", "10.42.0.0/24", "via", "10.0.0.10"], ct: Ct)).Ok();
        var policy = PolicyFor(lab);
        var block = NetPol("shop", "db-from-block", """
            {"podSelector":{"matchLabels":{"app":"db"}},"ingress":[{"from":[{"ipBlock":{"cidr":"10.42.0.0/24","except":["10.42.0.13/32"]}},{"ipBlock":{"cidr":"10.0.0.0/24"}}]}]}
            """);
        await policy.SyncAsync([block], Pods, Namespaces, "node-a", Ct);
        Assert.Equal("p1", await Tcp(lab, 2, 1));
        Assert.Equal(Refused, await Tcp(lab, 3, 1));
        Assert.Equal("p1", Assert.Single(await lab.ClientAsync(lab.Lan, "tcp", ProxyLab.PodIp(1), 8080)).Answer);

        block["spec"]!["ingress"]![0]!["from"]![1]!["ipBlock"]!["except"] = new JsonArray("10.0.0.16/28");
        await policy.SyncAsync([block], Pods, Namespaces, "node-a", Ct);
        Assert.Equal(Refused, Assert.Single(await lab.ClientAsync(lab.Lan, "tcp", ProxyLab.PodIp(1), 8080)).Answer);
        Assert.Equal("p1", await Tcp(lab, 2, 1));
    }

    [Fact]
    public async Task DefaultDenyEgress_RefusesTheClusterDns_UntilARuleAllowsIt_ButNotTheNodeItself()
    {
        // The node's server on TCP 9090 stands for the cluster DNS, which the agent serves on the node itself, on the
        // cluster DNS address added to the node's lo (TCP: the lab's UDP server answers from the node's first address).
        await using var lab = await ProxyLab.StartAsync(nodeServer: true);
        (await ProcessRunner.RunAsync("ip", ["-n", lab.Node, "addr", "add", $"{ClusterDns}/32", "dev", "lo"], ct: Ct)).Ok();
        var policy = PolicyFor(lab);
        Task<bool> Sync(params JsonObject[] policies) => policy.SyncAsync(policies, Pods, Namespaces, "node-a", Ct, [System.Net.IPAddress.Parse(ClusterDns)]);
        Task<string> Dns() => Tcp(lab, 1, ClusterDns, 9090);
        Task<string> Node() => Tcp(lab, 1, "10.42.0.1", 9090);
        Assert.Equal("node", await Dns());

        var deny = NetPol("shop", "db-egress-deny", """{"podSelector":{"matchLabels":{"app":"db"}},"policyTypes":["Egress"]}""");
        await Sync(deny);
        Assert.Equal(Refused, await Tcp(lab, 1, 2));
        Assert.Equal(Refused, await Tcp(lab, 1, 4));
        Assert.Equal(Refused, await Dns());
        Assert.Equal("node", await Node()); // upstream: traffic to the pod's own node is always allowed
        Assert.Equal(Unreachable, Assert.Single(await lab.ClientAsync(lab.Pod(1), "udp", ProxyLab.PodIp(2), 5353)).Answer);
        Assert.Equal("p1", await Tcp(lab, 2, 1)); // ingress to db is not isolated, and its replies pass

        var allow = NetPol("shop", "db-to-api", """
            {"podSelector":{"matchLabels":{"app":"db"}},"policyTypes":["Egress"],"egress":[{"to":[{"podSelector":{"matchLabels":{"role":"api"}}}],"ports":[{"port":8080}]}]}
            """);
        await Sync(deny, allow);
        Assert.Equal("p2", await Tcp(lab, 1, 2));
        Assert.Equal(Refused, await Tcp(lab, 1, 2, 9090));
        Assert.Equal(Refused, await Tcp(lab, 1, 3));
        Assert.Equal(Refused, await Tcp(lab, 1, 4)); // role=api in another namespace
        Assert.Equal(Refused, await Dns());
        // Through Services, egress too is judged on the endpoint the proxy chose: api's is allowed, plain's is not.
        await lab.Proxy.SyncAsync([ProxyObjects.Service("api", "10.43.0.12"), ProxyObjects.Service("plain", "10.43.0.13")],
            [ProxyObjects.Slice("api", 8080, "TCP", new Ep(ProxyLab.PodIp(2))), ProxyObjects.Slice("plain", 8080, "TCP", new Ep(ProxyLab.PodIp(3)))],
            ProxyObjects.NodeA with { LocalServiceAddresses = [System.Net.IPAddress.Parse(ClusterDns)] }, Ct);
        Assert.Equal("p2", await Tcp(lab, 1, "10.43.0.12", 80));
        Assert.Equal(Unreachable, await Tcp(lab, 1, "10.43.0.13", 80));

        // DNS only when a rule allows it: here a port rule to any destination.
        var dns = NetPol("shop", "db-dns", """{"podSelector":{},"policyTypes":["Egress"],"egress":[{"ports":[{"port":9090,"protocol":"TCP"}]}]}""");
        await Sync(deny, allow, dns);
        Assert.Equal("node", await Dns());
        Assert.Equal("p2", await Tcp(lab, 1, 2));
        Assert.Equal(Refused, await Tcp(lab, 1, 3));
    }

    [Fact]
    public async Task Cleanup_RemovesTheTable_AndAFlushedTableComesBack()
    {
        await using var lab = await ProxyLab.StartAsync(pods: 2);
        var policy = new NftPolicy(lab.Log, command: new HostCommand(["ip", "netns", "exec", lab.Node]), checkInterval: TimeSpan.Zero);
        var deny = NetPol("shop", "deny", """{"podSelector":{}}""");
        await policy.SyncAsync([deny], Pods[..2], Namespaces, "node-a", Ct);
        Assert.Contains("table ip appliance-policy", await lab.RulesetAsync());
        (await ProcessRunner.RunAsync("ip", ["netns", "exec", lab.Node, "nft", "flush", "ruleset"], ct: Ct)).Ok();
        Assert.Equal("p1", await Tcp(lab, 2, 1));
        Assert.True(await policy.SyncAsync([deny], Pods[..2], Namespaces, "node-a", Ct)); // nothing changed, but the table was gone
        Assert.Equal(Refused, await Tcp(lab, 2, 1));

        await policy.CleanupAsync(Ct);
        Assert.DoesNotContain("appliance-policy", await lab.RulesetAsync());
        Assert.Equal("p1", await Tcp(lab, 2, 1));
        await policy.CleanupAsync(Ct); // absent is fine
    }
}
