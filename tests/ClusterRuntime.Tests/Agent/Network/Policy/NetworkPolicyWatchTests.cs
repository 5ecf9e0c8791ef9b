// The agent's policy loop following a real server: policies applied with kubectl and a pod's new label reach the node's packets.
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.Network;
using Appliance.ClusterRuntime.Agent.Network.Policy;
using Appliance.ClusterRuntime.Tests.Agent.Network.ServiceProxy;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent.Network.Policy;

[Trait("Category", "External")]
public sealed class NetworkPolicyWatchTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    const string Ns = "np-watch", Node = "np-watch-node";

    [Fact]
    public async Task DefaultDenyAndAnAllowByLabel_AppliedWithKubectl_ReachThePackets_AndFollowAPodsLabels()
    {
        Support.Kubectl.RequireInstalled();
        await using var lab = await ProxyLab.StartAsync(pods: 3);
        using var http = await fixture.NamespaceClientAsync(Ns, Ct);
        (await http.PostAsync("/api/v1/nodes", Json.Body(new JsonObject { ["metadata"] = new JsonObject { ["name"] = Node } }), Ct)).EnsureSuccessStatusCode();
        foreach (var (i, labels) in new[] { (1, "app=db"), (2, "role=api"), (3, "") })
            await CreatePodAsync(http, $"p{i}", ProxyLab.PodIp(i), labels);

        using var api = new ApiClient(fixture.Server.CreateClient());
        var policy = new NftPolicy(lab.Log, command: new HostCommand(["ip", "netns", "exec", lab.Node]));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var running = policy.RunAsync(api, Node, [], stop.Token);
        try
        {
            async Task<string> Tcp(int from) => Assert.Single(await lab.ClientAsync(lab.Pod(from), "tcp", ProxyLab.PodIp(1), 8080)).Answer;
            async Task Until(int from, string answer, string what)
            {
                var clock = Stopwatch.StartNew();
                await Poll.UntilAsync(() => Tcp(from), a => a == answer, TimeSpan.FromSeconds(15), what);
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"{what} took {clock.Elapsed}");
            }
            await Poll.UntilAsync(() => lab.RulesetAsync(), r => r.Contains("table ip appliance-policy"), TimeSpan.FromSeconds(30), "the policy table after the first lists");
            Assert.Equal("p1", await Tcp(2));

            await ApplyAsync("""
                apiVersion: networking.k8s.io/v1
                kind: NetworkPolicy
                metadata: {name: default-deny, namespace: np-watch}
                spec: {podSelector: {}}
                """);
            await Until(2, "refused", "the default deny");
            Assert.Equal("refused", await Tcp(3));

            await ApplyAsync("""
                apiVersion: networking.k8s.io/v1
                kind: NetworkPolicy
                metadata: {name: db-from-api, namespace: np-watch}
                spec:
                  podSelector: {matchLabels: {app: db}}
                  ingress:
                  - from: [{podSelector: {matchLabels: {role: api}}}]
                """);
            await Until(2, "p1", "the allow by label");
            Assert.Equal("refused", await Tcp(3));

            // p3 gets the label: the Pod watch opens its path too.
            (await fixture.Kubectl.RunAsync("label", "pod", "p3", "-n", Ns, "role=api")).Ok();
            await Until(3, "p1", "the new label");

            (await fixture.Kubectl.RunAsync("delete", "netpol", "--all", "-n", Ns)).Ok();
            await Poll.UntilAsync(() => lab.RulesetAsync(), r => !r.Contains("jump ingress-"), TimeSpan.FromSeconds(15), "the pods' chains to go with the policies");
            Assert.Equal("p1", await Tcp(2));
        }
        finally
        {
            stop.Cancel();
            await running;
        }
    }

    async Task ApplyAsync(string manifest) => (await fixture.Kubectl.RunAsync(Encoding.UTF8.GetBytes(manifest), "apply", "-f", "-")).Ok();

    // A pod bound to the test's node with the lab's address in its status, as the node's kubelet would report it.
    static async Task CreatePodAsync(HttpClient http, string name, string ip, string labels)
    {
        var pod = new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject([.. labels.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('='))
                .Select(p => new KeyValuePair<string, JsonNode?>(p[0], p[1]))]) },
            ["spec"] = new JsonObject { ["nodeName"] = Node, ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "busybox" }) },
        };
        (await http.PostAsync($"/api/v1/namespaces/{Ns}/pods", Json.Body(pod), Ct)).EnsureSuccessStatusCode();
        var status = new JsonObject { ["status"] = new JsonObject { ["phase"] = "Running", ["podIP"] = ip, ["podIPs"] = new JsonArray(new JsonObject { ["ip"] = ip }) } };
        (await http.PatchAsync($"/api/v1/namespaces/{Ns}/pods/{name}/status", Json.Body(status, "application/merge-patch+json"), Ct)).EnsureSuccessStatusCode();
    }
}
