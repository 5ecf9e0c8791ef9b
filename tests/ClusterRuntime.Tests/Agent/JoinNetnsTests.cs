// A server and an agent in two network namespaces the test creates: no default route, no DNS, node IP from the route.
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "External")]
public sealed class JoinNetnsTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AgentWithoutDefaultRouteOrDns_TakesTheRoutesSourceAddress_AndIsReadyOnceContainerdHasACniConfig()
    {
        Support.Kubectl.RequireInstalled();
        foreach (var tool in new[] { "/usr/bin/containerd", "/usr/sbin/runc" })
            if (!File.Exists(tool)) Assert.Skip($"{tool} is not installed (.ci/packages.d/agent.txt)");
        if (Environment.UserName != "root") Assert.Skip("network namespaces need root");
        if (!File.Exists("/usr/bin/nsenter")) Assert.Skip("/usr/bin/nsenter is not installed (util-linux)");
        using var dir = new TempDir("join-ns-");
        var id = Guid.NewGuid().ToString("n")[..6];
        string srv = "jsrv-" + id, agt = "jagt-" + id;
        await using var net = new NetworkNamespaces(srv, agt);
        await net.CreateAsync();
        // In the agent's namespace the first interface holds another address (a veth pair kept inside it): the node IP
        // must be the source of the route to the server, not merely the first address.
        await Ip("-n", agt, "link", "add", "other0", "type", "veth", "peer", "name", "other1");
        await Ip("-n", agt, "addr", "add", "10.88.0.5/24", "dev", "other0");
        await Ip("-n", agt, "link", "set", "other0", "up");
        await Ip("-n", agt, "link", "set", "other1", "up");
        await Ip("-n", agt, "link", "add", "veth-a", "type", "veth", "peer", "name", "veth-s", "netns", srv);
        await Ip("-n", agt, "addr", "add", "10.77.0.2/24", "dev", "veth-a");
        await Ip("-n", srv, "addr", "add", "10.77.0.1/24", "dev", "veth-s");
        await Ip("-n", agt, "link", "set", "veth-a", "up");
        await Ip("-n", srv, "link", "set", "veth-s", "up");
        Assert.DoesNotContain("default", (await ProcessRunner.RunAsync("ip", ["-n", agt, "route"], ct: Ct)).Ok().Out);

        var port = RuntimeProcess.FreePort();
        await using var server = ProcessRunner.Start("/usr/bin/nsenter", [$"--net=/run/netns/{srv}", .. RuntimeProcess.CommandLine("server"),
            "--data-dir", dir["server"], "--https-listen-port", port.ToString(), "--bind-address", "0.0.0.0", "--disable-agent"]);
        var cache = dir["cache"];
        Directory.CreateDirectory(cache);
        Task<ProcessResult> Kubectl(params string[] args) => new Support.Kubectl(dir["server/kubeconfig.yaml"], cache, srv).RunAsync(args);
        await Poll.UntilAsync(async () => File.Exists(dir["server/kubeconfig.yaml"]) ? (await Kubectl("get", "--raw", "/readyz")).Out : "",
            o => o == "ok", TimeSpan.FromSeconds(60), "the server in its namespace", o => o + server.Error);

        await using var agent = ProcessRunner.Start("/usr/bin/nsenter", [$"--net=/run/netns/{agt}", .. RuntimeProcess.CommandLine("agent"),
            "--server", $"https://10.77.0.1:{port}", "--token-file", dir["server/token"], "--data-dir", dir["agent"], "--node-name", "netns-node"]);
        var row = await Poll.UntilAsync(async () => (await Kubectl("get", "nodes", "-o", "wide", "--no-headers")).Out, o => o.Contains("netns-node") && (o.Contains(" 10.77.") || o.Contains(" 10.88.")),
            TimeSpan.FromSeconds(60), "the node with its INTERNAL-IP", o => $"{o}\nagent: {agent.Out}{agent.Error}");
        Assert.Contains(" 10.77.0.2 ", row);

        // The agent started containerd in its namespace; Ready follows CRI Status. containerd reports NetworkReady only
        // once a CNI config is in its conf dir, which the agent's kubelet writes from the Node's podCIDR.
        row = await Poll.UntilAsync(async () => (await Kubectl("get", "nodes", "-o", "wide", "--no-headers")).Out, o => o.Contains("netns-node   Ready"),
            TimeSpan.FromSeconds(60), "the node Ready once containerd has a CNI config", o => $"{o}\nagent: {agent.Out}{agent.Error}");
        Assert.Matches(@"containerd://\d+\.\d+", row);
        var node = System.Text.Json.Nodes.JsonNode.Parse((await Kubectl("get", "node", "netns-node", "-o", "json")).Ok().Out)!;
        Assert.StartsWith("containerd://1.", (string?)node["status"]!["nodeInfo"]!["containerRuntimeVersion"]);
        var cidr = (string)node["spec"]!["podCIDR"]!;
        Assert.Contains($"\"subnet\": \"{cidr}\"", File.ReadAllText(Path.Combine(dir["agent/cni/net.d"], "10-appliance.conflist")));


        // The agent's kubelet takes pods bound to the node. This containerd has no images at all (not even pause), so
        // the sandbox cannot be made: the pod stays ContainerCreating and says why.
        var pod = Path.Combine(dir.Path, "pod.json");
        File.WriteAllText(pod, """
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nopause", "namespace": "default"},
             "spec": {"nodeName": "netns-node", "containers": [{"name": "app", "image": "example.local/absent:1"}]}}
            """);
        (await Kubectl("create", "-f", pod)).Ok();
        await Poll.UntilAsync(async () => (await Kubectl("get", "pod", "nopause", "-o", "jsonpath={.status.containerStatuses[0].state.waiting}")).Out,
            o => o.Contains("ContainerCreating") && o.Contains("failed to create the pod sandbox"), TimeSpan.FromSeconds(40), "the sandbox failure in the status",
            o => $"{o}\nagent: {agent.Out}{agent.Error}");
        TestContext.Current.TestOutputHelper?.WriteLine(row);
    }

    static async Task Ip(params string[] args) => (await ProcessRunner.RunAsync("ip", args, ct: Ct)).Ok();
}
