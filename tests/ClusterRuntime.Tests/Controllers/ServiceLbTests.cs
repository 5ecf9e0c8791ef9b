// The ServiceLB controller against a real server with simulated nodes, seen through kubectl: ingress, PortInUse, Local.
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;
using k8s;
using k8s.Models;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "External")]
public sealed class ServiceLbTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    static int _nodeIndex = 40;

    Support.Kubectl K => fx.Kubectl;

    async Task<(Kubernetes Client, SimulatedNodes Nodes)> StartAsync(string ns, params string[] nodes)
    {
        Support.Kubectl.RequireInstalled();
        var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(fx.Server.KubeconfigPath));
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } }, cancellationToken: Ct);
        var started = new SimulatedNodes(client, () => Interlocked.Increment(ref _nodeIndex));
        foreach (var name in nodes) await started.AddAsync(name);
        return (client, started);
    }

    static async Task StopAsync(Kubernetes client, SimulatedNodes nodes)
    {
        await nodes.DisposeAsync();
        client.Dispose();
    }

    async Task ApplyAsync(string ns, string name, int port, string? policy = null)
    {
        var spec = new JsonObject
        {
            ["type"] = "LoadBalancer",
            ["selector"] = new JsonObject { ["app"] = name },
            ["ports"] = new JsonArray(new JsonObject { ["port"] = port, ["targetPort"] = 8080 }),
        };
        if (policy is not null) spec["externalTrafficPolicy"] = policy;
        var svc = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Service", ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns }, ["spec"] = spec };
        (await K.RunAsync(Encoding.UTF8.GetBytes(svc.ToJsonString()), "apply", "-f", "-")).Ok();
    }

    async Task<string> IngressAsync(string ns, string name) =>
        (await K.RunAsync("-n", ns, "get", "svc", name, "-o", "jsonpath={range .status.loadBalancer.ingress[*]}{.ip}/{.ipMode} {end}")).Ok().Out.Trim();

    Task WaitIngressAsync(string ns, string name, string expected) =>
        Poll.UntilAsync($"{ns}/{name} ingress \"{expected}\"", async () => await IngressAsync(ns, name) == expected,
            TimeSpan.FromSeconds(20), () => IngressAsync(ns, name), Ct);

    static string Ip(SimulatedNode node) => "192.0.2." + node.Index;

    [Fact]
    public async Task TwoServicesOnOnePort_TheOlderGetsTheNodes_TheNewerWaitsWithOneWarning_AndTakesOverWhenTheOlderGoes()
    {
        const string ns = "lb-conflict";
        var (client, started) = await StartAsync(ns, "lb-1", "lb-2");
        var nodes = started.All;
        try
        {
            var both = string.Join(" ", nodes.Select(n => Ip(n) + "/VIP"));
            // The older Service is last by name: creation time decides, not the name.
            await ApplyAsync(ns, "zz-old", 80);
            await WaitIngressAsync(ns, "zz-old", both);
            await Task.Delay(1100, Ct); // creationTimestamp has whole seconds
            await ApplyAsync(ns, "aa-new", 80);
            await ApplyAsync(ns, "other-port", 81); // another port on the same nodes is no conflict
            await WaitIngressAsync(ns, "other-port", both);

            const string warning = $"Unable to place the load balancer on any node: port 80/TCP is already in use by {ns}/zz-old";
            await Poll.UntilAsync("the PortInUse event of aa-new", async () =>
                (await K.RunAsync("-n", ns, "get", "events", "--field-selector", "involvedObject.name=aa-new")).Ok().Out.Contains(warning),
                TimeSpan.FromSeconds(20), async () => (await K.RunAsync("-n", ns, "get", "events")).Out, Ct);
            Assert.Equal("", await IngressAsync(ns, "aa-new"));
            Assert.Matches($@"Warning\s+PortInUse\s+\S+\s+service-lb-controller\s+{warning}", (await K.RunAsync("-n", ns, "describe", "svc", "aa-new")).Ok().Out);
            var table = (await K.RunAsync("-n", ns, "get", "svc")).Ok().Out;
            Assert.Matches($@"aa-new\s+LoadBalancer\s+\S+\s+<pending>\s+80:3\d+/TCP", table);
            Assert.Matches($@"zz-old\s+LoadBalancer\s+\S+\s+{Ip(nodes[0])},{Ip(nodes[1])}\s+80:3\d+/TCP", table);

            // Other changes make the controller pass over every Service again; the warning is not repeated.
            for (int i = 0; i < 3; i++) (await K.RunAsync("label", "node", "lb-1", $"pass={i}", "--overwrite")).Ok();
            (await K.RunAsync("-n", ns, "label", "svc", "aa-new", "touched=yes")).Ok();
            await WaitIngressAsync(ns, "other-port", both);
            await Task.Delay(2000, Ct);
            Assert.Equal("1", (await K.RunAsync("-n", ns, "get", "events", "--field-selector", "involvedObject.name=aa-new,reason=PortInUse",
                "-o", "jsonpath={.items[*].count}")).Ok().Out);

            // The holder goes: the waiting Service gets the nodes.
            (await K.RunAsync("-n", ns, "delete", "svc", "zz-old")).Ok();
            var clock = Stopwatch.StartNew();
            await WaitIngressAsync(ns, "aa-new", both);
            TestContext.Current.TestOutputHelper?.WriteLine($"ingress {clock.Elapsed.TotalSeconds:F1} s after the holder was deleted");
            Assert.Contains("UpdatedIngressIP", (await K.RunAsync("-n", ns, "describe", "svc", "aa-new")).Ok().Out);

            // No longer a LoadBalancer: the status is cleared.
            (await K.RunAsync("-n", ns, "patch", "svc", "aa-new", "--type", "json", "-p",
                """[{"op":"replace","path":"/spec/type","value":"ClusterIP"},{"op":"remove","path":"/spec/ports/0/nodePort"},{"op":"remove","path":"/spec/externalTrafficPolicy"},{"op":"remove","path":"/spec/allocateLoadBalancerNodePorts"}]""")).Ok();
            await WaitIngressAsync(ns, "aa-new", "");
            Assert.Equal("{}", (await K.RunAsync("-n", ns, "get", "svc", "aa-new", "-o", "jsonpath={.status.loadBalancer}")).Ok().Out);
        }
        finally
        {
            await StopAsync(client, started);
        }
    }

    [Fact]
    public async Task LocalPolicy_ListsOnlyNodesWithAReadyEndpoint_AndACordonedNodeIsLeftOut()
    {
        const string ns = "lb-local";
        var (client, started) = await StartAsync(ns, "lbl-1", "lbl-2", "lbl-3");
        var nodes = started.All;
        try
        {
            var pod = new V1Pod
            {
                Metadata = new V1ObjectMeta { Name = "web-0", Labels = new Dictionary<string, string> { ["app"] = "web" } },
                Spec = new V1PodSpec
                {
                    Containers = [new V1Container { Name = "c", Image = "registry.local/app:1" }],
                    NodeSelector = new Dictionary<string, string> { ["kubernetes.io/hostname"] = "lbl-2" },
                },
            };
            await client.CoreV1.CreateNamespacedPodAsync(pod, ns, cancellationToken: Ct);
            await ApplyAsync(ns, "web", 8443, policy: "Local");
            await WaitIngressAsync(ns, "web", Ip(nodes[1]) + "/VIP");

            // A second endpoint on another node adds that node.
            pod.Metadata.Name = "web-1";
            pod.Spec.NodeSelector["kubernetes.io/hostname"] = "lbl-3";
            await client.CoreV1.CreateNamespacedPodAsync(pod, ns, cancellationToken: Ct);
            await WaitIngressAsync(ns, "web", $"{Ip(nodes[1])}/VIP {Ip(nodes[2])}/VIP");

            // Cluster policy: every node; a cordoned node is left out, and comes back when uncordoned.
            (await K.RunAsync("-n", ns, "patch", "svc", "web", "-p", """{"spec":{"externalTrafficPolicy":"Cluster"}}""")).Ok();
            await WaitIngressAsync(ns, "web", string.Join(" ", nodes.Select(n => Ip(n) + "/VIP")));
            (await K.RunAsync("cordon", "lbl-1")).Ok();
            await WaitIngressAsync(ns, "web", $"{Ip(nodes[1])}/VIP {Ip(nodes[2])}/VIP");
            (await K.RunAsync("uncordon", "lbl-1")).Ok();
            await WaitIngressAsync(ns, "web", string.Join(" ", nodes.Select(n => Ip(n) + "/VIP")));
        }
        finally
        {
            await StopAsync(client, started);
        }
    }
}
