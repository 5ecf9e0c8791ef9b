// Issue 15's two-node acceptance: a server with its embedded agent and one more agent, each node in its own network namespace on a test LAN.
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent.Network;

/// <summary>
/// Three namespaces on one bridge, as a small site: "lan" holds the bridge br0 and the site's own host (10.77.0.100),
/// node A (10.77.0.1) runs <c>appliance-runtime server</c> with its embedded agent, node B (10.77.0.2) runs
/// <c>appliance-runtime agent</c>; each node starts its own containerd. No namespace has a default route. Pods reach
/// each other across nodes by pod IP (their own source address kept), Services by ClusterIP and by name, NodePorts
/// answer from the LAN on both nodes, cluster DNS answers <c>dig</c> on both nodes, a Deployment scaled to 0 and back
/// makes its ClusterIP refuse and answer within 2 s of its EndpointSlice changing, and <c>agent --cleanup</c> leaves
/// nothing of ours in either node's network.
/// </summary>
[Trait("Category", "External")]
public sealed class TwoNodeTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    static ITestOutputHelper? Output => TestContext.Current.TestOutputHelper;

    const string NodeA = "node-a", NodeB = "node-b";
    const string IpA = "10.77.0.1", IpB = "10.77.0.2", IpLan = "10.77.0.100";

    /// <summary>busybox httpd on 8080: / is "page of POD", /cgi-bin/ip is the client's address as the pod sees it.
    /// SIGTERM ends it at once (a shell as PID 1 ignores the signal unless it traps it).</summary>
    const string HttpdScript = """
        /bin/busybox --install -s /bin
        mkdir -p /www/cgi-bin
        echo "page of $(hostname)" > /www/index.html
        printf '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho "$REMOTE_ADDR"\n' > /www/cgi-bin/ip
        chmod +x /www/cgi-bin/ip
        trap 'exit 0' TERM
        httpd -f -p 8080 -h /www &
        wait
        """;

    [Fact]
    public async Task TwoNodes_PodsServicesNodePortsAndDnsWorkAcrossNodes_ScalingFollowsWithin2s_AndCleanupLeavesNothing()
    {
        Support.Kubectl.RequireInstalled();
        foreach (var tool in new[] { "/usr/bin/containerd", "/usr/bin/nsenter", "/usr/bin/curl", "/usr/bin/dig", "/usr/sbin/nft", "/usr/bin/python3" })
            if (!File.Exists(tool)) Assert.Skip($"{tool} is not installed (.ci/packages.d/agent.txt, network.txt)");
        if (!File.Exists("/usr/sbin/runc") && !File.Exists("/usr/bin/runc")) Assert.Skip("runc is not installed (.ci/packages.d/agent.txt)");
        if (Environment.UserName != "root") Assert.Skip("network namespaces and containers need root");
        string[] archives = [PauseImage.Archive, Path.Combine(BusyboxFixtures.Dir, "busybox-multi.oci.tar")];

        using var dir = new TempDir("two-");
        var id = Guid.NewGuid().ToString("n")[..6];
        string lan = "tlan-" + id, nsA = "tna-" + id, nsB = "tnb-" + id;
        await using var net = new NetworkNamespaces(lan, nsA, nsB);
        await net.CreateAsync();
        await Ip("-n", lan, "link", "add", "br0", "type", "bridge");
        await Ip("-n", lan, "addr", "add", IpLan + "/24", "dev", "br0");
        await Ip("-n", lan, "link", "set", "br0", "up");
        foreach (var (ns, ip, peer) in new[] { (nsA, IpA, "to-a"), (nsB, IpB, "to-b") })
        {
            await Ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", peer, "netns", lan);
            await Ip("-n", lan, "link", "set", peer, "master", "br0", "up");
            await Ip("-n", ns, "addr", "add", ip + "/24", "dev", "eth0");
            await Ip("-n", ns, "link", "set", "eth0", "up");
        }
        foreach (var ns in new[] { lan, nsA, nsB })
            Assert.DoesNotContain("default", (await ProcessRunner.RunAsync("ip", ["-n", ns, "route"], ct: Ct)).Ok().Out);

        foreach (var images in new[] { dir["srv/agent/images"], dir["agt/images"] })
        {
            Directory.CreateDirectory(images);
            foreach (var a in archives) File.Copy(a, Path.Combine(images, Path.GetFileName(a)));
        }
        var port = RuntimeProcess.FreePort();
        await using var nodeA = new RunningNode(ProcessRunner.Start("/usr/bin/nsenter", [$"--net=/run/netns/{nsA}", .. RuntimeProcess.CommandLine("server"),
            "--data-dir", dir["srv"], "--https-listen-port", port.ToString(), "--bind-address", "0.0.0.0", "--node-name", NodeA]), dir["srv/agent/containerd"], nsA);
        Directory.CreateDirectory(dir["cache"]);
        var kubectl = new Support.Kubectl(dir["srv/kubeconfig.yaml"], dir["cache"], nsA);
        RunningNode? nodeB = null;
        string Log() => $"\nnode A: {Tail(nodeA.Process)}\nnode B: {(nodeB is null ? "" : Tail(nodeB.Process))}";
        await Poll.UntilAsync(async () => File.Exists(dir["srv/kubeconfig.yaml"]) && File.Exists(dir["srv/token"]) ? (await kubectl.RunAsync("get", "--raw", "/readyz")).Out : "",
            o => o == "ok", TimeSpan.FromSeconds(60), "the server in node A's namespace", o => o + Log());
        await using var b = nodeB = new RunningNode(ProcessRunner.Start("/usr/bin/nsenter", [$"--net=/run/netns/{nsB}", .. RuntimeProcess.CommandLine("agent"),
            "--server", $"https://{IpA}:{port}", "--token-file", dir["srv/token"], "--data-dir", dir["agt"], "--node-name", NodeB]), dir["agt/containerd"], nsB);

        var rows = await Poll.UntilAsync(async () => (await kubectl.RunAsync("get", "nodes", "-o", "wide", "--no-headers")).Out,
            o => Regex.IsMatch(o, $@"(?m)^{NodeA}\s+Ready\s") && Regex.IsMatch(o, $@"(?m)^{NodeB}\s+Ready\s"), TimeSpan.FromSeconds(120), "both nodes Ready", o => o + Log());
        Assert.Matches($@"(?m)^{NodeA}\s.*\s{Regex.Escape(IpA)}\s", rows);
        Assert.Matches($@"(?m)^{NodeB}\s.*\s{Regex.Escape(IpB)}\s", rows);
        Output?.WriteLine(rows);

        var manifest = dir.Write("apps.yaml", Manifests());
        (await kubectl.RunAsync("apply", "-f", manifest)).Ok();
        var pods = await Poll.UntilAsync(async () => Running((await kubectl.RunAsync("get", "pods", "-o", "json")).Out),
            p => p.Count(x => x.App == "web") == 2 && p.Any(x => x.App == "web" && x.Node == NodeA) && p.Any(x => x.App == "web" && x.Node == NodeB)
                 && p.Any(x => x.App == "only-b") && p.Count(x => x.App == "scale") == 3,
            TimeSpan.FromSeconds(120), "the DaemonSet on both nodes, the pod on node B and the Deployment's 3 pods Running",
            p => string.Join(", ", p) + Log());
        var webA = pods.Single(p => p.App == "web" && p.Node == NodeA);
        var webB = pods.Single(p => p.App == "web" && p.Node == NodeB);
        var onlyB = pods.Single(p => p.App == "only-b");
        Assert.Equal(NodeB, onlyB.Node);
        Output?.WriteLine(string.Join("\n", pods));
        foreach (var (ns, peer, peerCidrNode) in new[] { (nsA, IpB, NodeB), (nsB, IpA, NodeA) })
        {
            var cidr = (await kubectl.RunAsync("get", "node", peerCidrNode, "-o", "jsonpath={.spec.podCIDR}")).Ok().Out;
            Assert.Contains($"{cidr} via {peer} dev eth0 proto 83", (await ProcessRunner.RunAsync("ip", ["-n", ns, "route"], ct: Ct)).Ok().Out);
        }

        // Pod to pod across nodes, both ways, by pod IP; the server sees the client's own pod address (no masquerade
        // inside the cluster range, or NetworkPolicy could not tell pods apart).
        foreach (var (from, to) in new[] { (webA, webB), (webB, webA) })
        {
            var seen = await HttpFromPodAsync(kubectl, from.Name, to.Ip, 8080, "/cgi-bin/ip", Log);
            Assert.Matches($@"^\[?(::ffff:)?{Regex.Escape(from.Ip)}\]?\n$", seen);
        }

        // The Service whose only endpoint is on node B, from the pod on node A: by ClusterIP and by its name.
        var svc = JsonNode.Parse((await kubectl.RunAsync("get", "service", "only-b", "-o", "json")).Ok().Out)!;
        var clusterIp = (string)svc["spec"]!["clusterIP"]!;
        var nodePort = (int)svc["spec"]!["ports"]![0]!["nodePort"]!;
        Assert.Equal($"page of {onlyB.Name}\n", await HttpFromPodAsync(kubectl, webA.Name, clusterIp, 80, "/", Log));
        var lookup = await Poll.UntilAsync(() => kubectl.RunAsync("exec", webA.Name, "--", "nslookup", "only-b.default.svc.cluster.local"),
            r => r.Out.Contains(clusterIp), TimeSpan.FromSeconds(20), "nslookup of the Service in the pod on node A", r => r.Out + r.Error + Log());
        Assert.Matches($@"Name:\s+only-b\.default\.svc\.cluster\.local\nAddress:\s+{Regex.Escape(clusterIp)}\n", lookup.Out);
        var byName = (await kubectl.RunAsync("exec", webA.Name, "--", "sh", "-c",
            "ip=$(nslookup only-b.default.svc.cluster.local | sed -n 's/^Address: *//p' | tail -n 1) && printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 \"$ip\" 80")).Ok().Out;
        Assert.EndsWith($"\r\n\r\npage of {onlyB.Name}\n", byName);

        // NodePort from the site's LAN, on both nodes' addresses (node A forwards to node B's pod).
        foreach (var nodeIp in new[] { IpA, IpB })
        {
            var page = await Poll.UntilAsync(() => ProcessRunner.RunAsync("/usr/bin/nsenter", [$"--net=/run/netns/{lan}", "curl", "-sS", "--max-time", "5", $"http://{nodeIp}:{nodePort}/"], ct: Ct),
                r => r.ExitCode == 0, TimeSpan.FromSeconds(20), $"NodePort {nodePort} on {nodeIp} from the LAN", r => r.Error + Log());
            Assert.Equal($"page of {onlyB.Name}\n", page.Out);
        }

        // A pod reaching a host of the site's LAN, which has no route to the pods: masqueraded to its node's address
        // (the only masquerade the agent's table does for pod traffic), or no answer could come back.
        var www = dir["lan-www"];
        Directory.CreateDirectory(www);
        File.WriteAllText(Path.Combine(www, "index.html"), "lan host\n");
        await using (var lanHost = ProcessRunner.Start("/usr/bin/nsenter", [$"--net=/run/netns/{lan}", "python3", "-u", "-m", "http.server", "8000", "--bind", IpLan, "--directory", www]))
        {
            foreach (var (pod, nodeIp) in new[] { (webA, IpA), (webB, IpB) })
            {
                Assert.Equal("lan host\n", await HttpFromPodAsync(kubectl, pod.Name, IpLan, 8000, "/", () => lanHost.Error + Log()));
                Assert.True(await lanHost.WaitUntilAsync(p => p.Error.Contains($"{nodeIp} - - "), TimeSpan.FromSeconds(10), Ct), $"the LAN host's log: {lanHost.Error}");
                Assert.DoesNotContain(pod.Ip, lanHost.Error);
            }
        }

        // Cluster DNS on each node, asked with dig inside the node's namespace: the Service, the headless Service's
        // endpoints on both nodes, and SRV.
        foreach (var ns in new[] { nsA, nsB })
        {
            Assert.Equal(clusterIp + "\n", (await Dig(ns, "only-b.default.svc.cluster.local")).Out);
            var headless = await Poll.UntilAsync(() => Dig(ns, "web-all.default.svc.cluster.local"), r => r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 2,
                TimeSpan.FromSeconds(20), "both DaemonSet pods in the headless Service's answer", r => r.Out + r.Error + Log());
            Assert.Equal(new[] { webA.Ip, webB.Ip }.Order(), headless.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
            Assert.Equal("0 100 80 only-b.default.svc.cluster.local.\n", (await Dig(ns, "_http._tcp.only-b.default.svc.cluster.local", "SRV")).Out);
            // A name outside the cluster: the node's upstream (the host's resolv.conf) is unreachable here, so a fast failure.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var outside = await ProcessRunner.RunAsync("/usr/bin/nsenter", [$"--net=/run/netns/{ns}", "dig", "@10.43.0.10", "+tries=1", "+time=5", "appliance-test.example.com", "A"], ct: Ct);
            // dig gives up after 5 s without an answer (no status line then); an answer well before that is the "fast" asked for.
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"an outside name took {clock.Elapsed.TotalSeconds:F2} s: {outside.Out}");
            Assert.Matches("status: (SERVFAIL|NXDOMAIN)", outside.Out);
        }

        await ScaleAsync(kubectl, webA.Name, Log);

        // Stop both nodes (their pods' sandboxes removed, as at a node's decommissioning), then --cleanup in each.
        await b.DisposeAsync();
        await nodeA.DisposeAsync();
        foreach (var ns in new[] { nsA, nsB })
        {
            var before = await NetworkStateAsync(ns);
            Assert.Contains("table ip appliance", before);
            var cleanup = await ProcessRunner.RunAsync("/usr/bin/nsenter", [$"--net=/run/netns/{ns}", .. RuntimeProcess.CommandLine("agent"), "--cleanup"], ct: Ct);
            Assert.True(cleanup.ExitCode == 0, $"agent --cleanup in {ns}: {cleanup.Out}{cleanup.Error}");
            var after = await NetworkStateAsync(ns);
            Output?.WriteLine($"{ns} before --cleanup:\n{before}\nafter:\n{after}");
            Assert.DoesNotContain("appliance", after);
            Assert.DoesNotContain("proto 83", after);
            Assert.DoesNotContain("cni0", after);
            Assert.DoesNotContain("veth", after);
            Assert.DoesNotContain("10.43.0.10", after);
            Assert.Contains($"{(ns == nsA ? IpA : IpB)}/24", after);
        }
    }

    /// <summary>
    /// Scales Deployment "scale" from 3 to 0 and then to 2 while a pod on node A connects to its ClusterIP every
    /// 50 ms (one line per try: /proc/uptime, then the page, which names the pod, or nc's error). The EndpointSlice is watched with kubectl;
    /// the time its last serving endpoint goes (or its first ready one comes) is compared with the probe's lines.
    /// </summary>
    async Task ScaleAsync(Support.Kubectl kubectl, string probePod, Func<string> log)
    {
        var ip = (await kubectl.RunAsync("get", "service", "scale", "-o", "jsonpath={.spec.clusterIP}")).Ok().Out;
        // JSON, not a jsonpath template: with a template ranging over .endpoints, kubectl 1.32 ended this watch (exit 0,
        // nothing printed) as the slice's endpoints emptied; with JSON it keeps printing every version.
        await using var watch = kubectl.Start("get", "endpointslices", "-l", "kubernetes.io/service-name=scale", "-w", "-o", "json");
        await using var probe = kubectl.Start("exec", probePod, "--", "sh", "-c",
            $"end=$(( $(cut -d. -f1 /proc/uptime) + 120 )); while [ $(cut -d. -f1 /proc/uptime) -lt $end ]; do " +
            $"t=$(cut -d' ' -f1 /proc/uptime); r=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 1 {ip} 80 2>&1 | tail -n 1); echo \"$t $r\"; usleep 50000; done");
        Assert.True(await watch.WaitUntilAsync(w => Serving(w.Out).LastOrDefault() == 3, TimeSpan.FromSeconds(60), Ct), $"3 serving endpoints: serving endpoints per slice version {string.Join(",", Serving(watch.Out))} {watch.Error}{log()}");
        Assert.True(await probe.WaitUntilAsync(p => Tries(p.Out).Count(t => t.Ok) >= 3, TimeSpan.FromSeconds(30), Ct), $"the probe's answers: {probe.Out}{probe.Error}{log()}");

        var seen = Serving(watch.Out).Count;
        var scaled = Uptime();
        (await kubectl.RunAsync("scale", "deployment", "scale", "--replicas=0")).Ok();
        Assert.True(await watch.WaitUntilAsync(w => Serving(w.Out).Skip(seen).Contains(0), TimeSpan.FromSeconds(60), Ct), $"no serving endpoint: serving endpoints per slice version {string.Join(",", Serving(watch.Out))} {watch.Error}{(watch.HasExited ? $"(kubectl exited {watch.ExitCode})" : "")}{log()}");
        var empty = Uptime();
        Assert.True(await probe.WaitUntilAsync(p => Tries(p.Out).Any(t => t.At > empty + 3), TimeSpan.FromSeconds(20), Ct), $"probe lines: {probe.Out}{probe.Error}");
        var down = Tries(probe.Out);
        // From the first refusal after which every try was refused.
        var refusedFrom = down.Where(t => t.At >= scaled).Reverse().TakeWhile(t => t.Refused).LastOrDefault();
        Assert.True(refusedFrom.Line is not null && down[^1].Refused, $"the ClusterIP does not refuse with no endpoints; tries since the scale:\n{Since(down, scaled)}");

        seen = Serving(watch.Out).Count;
        var upAt = Uptime();
        (await kubectl.RunAsync("scale", "deployment", "scale", "--replicas=2")).Ok();
        Assert.True(await watch.WaitUntilAsync(w => Serving(w.Out).Skip(seen).Any(n => n > 0), TimeSpan.FromSeconds(60), Ct), $"a ready endpoint again: serving endpoints per slice version {string.Join(",", Serving(watch.Out))} {watch.Error}{(watch.HasExited ? $"(kubectl exited {watch.ExitCode})" : "")}{log()}");
        var filled = Uptime();
        Assert.True(await probe.WaitUntilAsync(p => Tries(p.Out).Any(t => t.At > filled + 3), TimeSpan.FromSeconds(20), Ct), $"probe lines: {probe.Out}{probe.Error}");
        var up = Tries(probe.Out);
        Output?.WriteLine("endpoints after the scale to 2: " + string.Join(", ", (await kubectl.RunAsync("get", "pods", "-l", "app=scale", "-o", "jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.status.podIP};{end}")).Out));
        var answered = up.FirstOrDefault(t => t.At >= upAt && t.Ok);
        Assert.True(answered.Line is not null, $"the ClusterIP does not answer again; tries since the scale:\n{Since(up, upAt)}");

        var refuseLatency = refusedFrom.At - empty;
        var answerLatency = answered.At - filled;
        Output?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"scale 3→0: slice without serving endpoints {empty - scaled:F2} s after the command, refused from {refusedFrom.At - scaled:F2} s: {refuseLatency:F2} s after the slice change\n" +
            $"scale 0→2: first ready endpoint {filled - upAt:F2} s after the command, answered at {answered.At - upAt:F2} s: {answerLatency:F2} s after the slice change"));
        Output?.WriteLine($"probe tries after the scale to 0:\n{Since(down, scaled, upAt)}\nafter the scale to 2:\n{Since(up, upAt)}");
        Assert.True(refuseLatency <= 2.0, $"refused {refuseLatency:F2} s after the slice lost its endpoints:\n{Since(down, scaled)}");
        Assert.True(answerLatency <= 2.0, $"answered {answerLatency:F2} s after the slice had an endpoint:\n{Since(up, upAt)}");
    }

    /// <summary>Per EndpointSlice version the watch printed (JSON objects one after another), how many endpoints
    /// serve: <c>serving</c>, which defaults to <c>ready</c>, which defaults to true.</summary>
    static List<int> Serving(string objects)
    {
        var counts = new List<int>();
        var reader = new System.Text.Json.Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(objects), new System.Text.Json.JsonReaderOptions { AllowMultipleValues = true });
        try
        {
            while (reader.Read() && JsonNode.Parse(ref reader) is JsonObject slice)
                counts.Add((slice["endpoints"] as JsonArray ?? []).Count(e => (bool?)e?["conditions"]?["serving"] ?? (bool?)e?["conditions"]?["ready"] ?? true));
        }
        catch (System.Text.Json.JsonException)
        {
            // The last object is still being printed.
        }
        return counts;
    }

    readonly record struct Try(double At, bool Ok, bool Refused, string Line);

    static List<Try> Tries(string output) =>
        [.. output.Split('\n').SkipLast(1).Select(l => l.Split(' ', 2)).Where(p => p.Length == 2 && double.TryParse(p[0], CultureInfo.InvariantCulture, out _))
            .Select(p => new Try(double.Parse(p[0], CultureInfo.InvariantCulture), p[1].StartsWith("page of scale-", StringComparison.Ordinal), p[1].Contains("Connection refused"), string.Join(' ', p)))];

    static string Since(List<Try> tries, double from, double to = double.MaxValue) =>
        string.Join('\n', tries.Where(t => t.At >= from - 0.5 && t.At <= to).Select(t => t.Line));

    /// <summary>Seconds since boot, the clock the probe in the pod reads (/proc/uptime is not namespaced).</summary>
    static double Uptime() => double.Parse(File.ReadAllText("/proc/uptime").Split(' ')[0], CultureInfo.InvariantCulture);

    /// <summary>The body of <c>GET path</c> from <paramref name="pod"/> to ip:port with busybox nc (its wget crashes in the static fixture); retried while refused.</summary>
    static async Task<string> HttpFromPodAsync(Support.Kubectl kubectl, string pod, string ip, int port, string path, Func<string> log)
    {
        var r = await Poll.UntilAsync(() => kubectl.RunAsync("exec", pod, "--", "sh", "-c", $"printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {ip} {port}"),
            r => r.ExitCode == 0 && HeadEnd.IsMatch(r.Out), TimeSpan.FromSeconds(20), $"GET {path} from {pod} to {ip}:{port}", r => r.Out + r.Error + log());
        return HeadEnd.Split(r.Out, 2)[1];
    }

    /// <summary>The blank line after the response head (a CGI script's own header lines end in a bare newline).</summary>
    static readonly Regex HeadEnd = new(@"\r?\n\r?\n");

    static Task<ProcessResult> Dig(string ns, string name, string type = "A") =>
        ProcessRunner.RunAsync("/usr/bin/nsenter", [$"--net=/run/netns/{ns}", "dig", "@10.43.0.10", "+short", "+tries=1", "+time=2", name, type], ct: Ct);

    /// <summary>What a node's namespace holds that the agent may have added: nftables tables, routes, links, addresses.</summary>
    static async Task<string> NetworkStateAsync(string ns)
    {
        var parts = new List<string>();
        foreach (var (tool, args) in new (string, string[])[] { ("nft", ["list", "tables"]), ("ip", ["route", "show", "table", "all"]), ("ip", ["-o", "link"]), ("ip", ["-o", "addr"]) })
            parts.Add((await ProcessRunner.RunAsync("/usr/bin/nsenter", [$"--net=/run/netns/{ns}", tool, .. args], ct: Ct)).Ok().Out);
        return string.Join("", parts);
    }

    static string Manifests() => $$$"""
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {name: web, namespace: default}
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              terminationGracePeriodSeconds: 5
              containers:
              - {name: httpd, image: "{{{ContainerdHost.Busybox}}}", command: ["/bin/busybox", "sh", "-c", {{{Json(HttpdScript)}}}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web-all, namespace: default}
        spec:
          clusterIP: None
          selector: {app: web}
          ports: [{name: http, port: 80, targetPort: 8080}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: only-b, namespace: default, labels: {app: only-b}}
        spec:
          nodeSelector: {kubernetes.io/hostname: {{{NodeB}}}}
          terminationGracePeriodSeconds: 5
          containers:
          - {name: httpd, image: "{{{ContainerdHost.Busybox}}}", command: ["/bin/busybox", "sh", "-c", {{{Json(HttpdScript)}}}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: only-b, namespace: default}
        spec:
          type: NodePort
          selector: {app: only-b}
          ports: [{name: http, port: 80, targetPort: 8080}]
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: scale, namespace: default}
        spec:
          replicas: 3
          selector: {matchLabels: {app: scale}}
          template:
            metadata: {labels: {app: scale}}
            spec:
              terminationGracePeriodSeconds: 5
              containers:
              - {name: httpd, image: "{{{ContainerdHost.Busybox}}}", command: ["/bin/busybox", "sh", "-c", {{{Json(HttpdScript)}}}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: scale, namespace: default}
        spec:
          selector: {app: scale}
          ports: [{port: 80, targetPort: 8080}]
        """;

    static string Json(string s) => System.Text.Json.JsonSerializer.Serialize(s);

    readonly record struct PodRow(string Name, string App, string Node, string Ip);

    static List<PodRow> Running(string json) => json.Length == 0 ? [] :
        [.. JsonNode.Parse(json)!["items"]!.AsArray()
            .Where(p => (string?)p!["status"]?["phase"] == "Running" && p["status"]?["podIP"] is not null && p["metadata"]?["deletionTimestamp"] is null)
            .Select(p => new PodRow((string)p!["metadata"]!["name"]!, (string?)p["metadata"]!["labels"]?["app"] ?? "", (string?)p["spec"]!["nodeName"] ?? "", (string)p["status"]!["podIP"]!))];

    static string Tail(ChildProcess p) => string.Join('\n', (p.Out + p.Error).Split('\n').TakeLast(25));

    static async Task Ip(params string[] args) => (await ProcessRunner.RunAsync("ip", args, ct: Ct)).Ok();

    /// <summary>A node process (server or agent) in <paramref name="netns"/>; dispose stops it and removes its pods' sandboxes.</summary>
    sealed class RunningNode(ChildProcess process, string containerdDir, string netns) : IAsyncDisposable
    {
        bool _stopped;

        public ChildProcess Process => process;

        public async ValueTask DisposeAsync()
        {
            if (_stopped) return;
            _stopped = true;
            await ContainerdHost.StopNodeAsync(process, containerdDir, netns);
        }
    }
}
