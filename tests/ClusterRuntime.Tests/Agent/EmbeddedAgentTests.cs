// `appliance-runtime server` without --disable-agent is a node too: a Deployment runs on it, served (also through a LoadBalancer from the LAN), logged, exec'd into, copied to and from, replaced, and fenced by NetworkPolicies.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "External")]
public sealed class EmbeddedAgentTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Server_RunsItsOwnNode_ItsPodsServeFromPodIps_FollowLogs_ExecAndCp_AndAreReplaced()
    {
        Support.Kubectl.RequireInstalled();
        foreach (var tool in new[] { "/usr/bin/containerd", "/usr/bin/nsenter", "/usr/bin/curl", "/usr/bin/dig", "/usr/sbin/nft" })
            if (!File.Exists(tool)) Assert.Skip($"{tool} is not installed (.ci/packages.d/agent.txt)");
        if (!File.Exists("/usr/sbin/runc") && !File.Exists("/usr/bin/runc")) Assert.Skip("runc is not installed (.ci/packages.d/agent.txt)");
        if (Environment.UserName != "root") Assert.Skip("network namespaces and containers need root");
        string[] archives = [PauseImage.Archive, Path.Combine(BusyboxFixtures.Dir, "busybox-multi.oci.tar")];

        using var dir = new TempDir("emb-");
        var netns = "emb-" + Guid.NewGuid().ToString("n")[..6];
        var lan = netns + "-lan";
        var images = dir["srv/agent/images"];
        Directory.CreateDirectory(images);
        foreach (var a in archives) File.Copy(a, Path.Combine(images, Path.GetFileName(a)));
        (await ProcessRunner.RunAsync("ip", ["netns", "add", netns], ct: Ct)).Ok();
        (await ProcessRunner.RunAsync("ip", ["netns", "add", lan], ct: Ct)).Ok();
        ChildProcess? server = null;
        try
        {
            await Ip("-n", netns, "link", "set", "lo", "up");
            // An address besides loopback, as a machine has: the server advertises it and the node takes it as its IP.
            // The other end of the veth pair is a host of the site's LAN (10.213.0.2), in a namespace of its own.
            await Ip("-n", netns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1", "netns", lan);
            await Ip("-n", netns, "addr", "add", "10.213.0.1/24", "dev", "eth0");
            await Ip("-n", lan, "addr", "add", "10.213.0.2/24", "dev", "eth1");
            await Ip("-n", netns, "link", "set", "eth0", "up");
            await Ip("-n", lan, "link", "set", "eth1", "up");
            server = ProcessRunner.Start("/usr/bin/nsenter", [$"--net=/run/netns/{netns}", .. RuntimeProcess.CommandLine("server"),
                "--data-dir", dir["srv"], "--https-listen-port", RuntimeProcess.FreePort().ToString()]);
            Directory.CreateDirectory(dir["cache"]);
            var kubectl = new Support.Kubectl(dir["srv/kubeconfig.yaml"], dir["cache"], netns);
            string Log() => $"\nserver: {server.Out}{server.Error}";
            await Poll.UntilAsync(async () => File.Exists(dir["srv/kubeconfig.yaml"]) ? (await kubectl.RunAsync("get", "--raw", "/readyz")).Out : "",
                o => o == "ok", TimeSpan.FromSeconds(60), "the server in its namespace", o => o + Log());

            // The node is the host name, Ready once containerd runs and the kubelet wrote the CNI config.
            var node = System.Net.Dns.GetHostName().ToLowerInvariant();
            var row = await Poll.UntilAsync(async () => (await kubectl.RunAsync("get", "nodes", "-o", "wide", "--no-headers")).Out,
                o => System.Text.RegularExpressions.Regex.IsMatch(o, $@"^{System.Text.RegularExpressions.Regex.Escape(node)}\s+Ready\s"), TimeSpan.FromSeconds(90), "the server's own node Ready", o => o + Log());
            Assert.Matches(@"containerd://\d+\.\d+", row);
            Assert.Contains(" 10.213.0.1 ", row);
            Assert.Contains("control-plane", row);

            var manifest = Path.Combine(dir.Path, "web.yaml");
            File.WriteAllText(manifest, $$$"""
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: web, namespace: default}
                spec:
                  replicas: 2
                  selector: {matchLabels: {app: web}}
                  template:
                    metadata: {labels: {app: web}}
                    spec:
                      containers:
                      - name: httpd
                        image: {{{ContainerdHost.Busybox}}}
                        command: ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -p /www && echo \"page of $(hostname)\" > /www/index.html && echo \"serving $(hostname)\" && exec httpd -f -p 8080 -h /www"]
                """);
            (await kubectl.RunAsync("apply", "-f", manifest)).Ok();
            var pods = await RunningAsync(kubectl, 2, [], Log);
            foreach (var (name, ip) in pods)
            {
                // Running means started, not listening yet (no readiness probe): a refused connection is retried.
                var page = await Poll.UntilAsync(async () => await ProcessRunner.RunAsync("/usr/bin/nsenter",
                        [$"--net=/run/netns/{netns}", "curl", "-sS", "--max-time", "5", $"http://{ip}:8080/"], ct: Ct),
                    r => r.ExitCode == 0, TimeSpan.FromSeconds(15), $"the page from {name} at {ip}", r => r.Error + Log());
                Assert.Equal($"page of {name}\n", page.Out);
            }

            await StreamsAsync(kubectl, pods[1].Name, dir, Log);
            await ClusterDnsAsync(kubectl, netns, pods[1].Name, Log);
            await LoadBalancerAsync(kubectl, lan, Log);

            var (gone, _) = pods[0];
            (await kubectl.RunAsync("delete", "pod", gone, "--wait=false")).Ok();
            var after = await RunningAsync(kubectl, 2, [gone], Log);
            Assert.DoesNotContain(after, p => p.Name == gone);
            Assert.Contains(after, p => p.Name == pods[1].Name);

            var replacement = after.First(p => p.Name != pods[1].Name).Name;
            var logs = await Poll.UntilAsync(async () => (await kubectl.RunAsync("logs", replacement)).Out, o => o.Contains($"serving {replacement}"),
                TimeSpan.FromSeconds(30), "kubectl logs of the replacement", o => o + Log());
            TestContext.Current.TestOutputHelper?.WriteLine($"{row}\n{logs}");

            var target = after.First(p => p.Name == replacement);
            await NetworkPolicyAsync(kubectl, netns, pods[1].Name, target, dir, Log);
        }
        finally
        {
            await ContainerdHost.StopNodeAsync(server, dir["srv/agent/containerd"], netns);
            await ProcessRunner.RunAsync("ip", ["netns", "delete", netns], ct: CancellationToken.None);
            await ProcessRunner.RunAsync("ip", ["netns", "delete", lan], ct: CancellationToken.None);
        }
    }

    [Fact]
    public async Task Server_WithoutContainerd_SaysSoInOneLine_AndKeepsServingTheApi()
    {
        Support.Kubectl.RequireInstalled();
        if (Environment.UserName != "root") Assert.Skip("hiding /usr/bin in a mount namespace needs root");
        if (!File.Exists("/usr/bin/unshare")) Assert.Skip("/usr/bin/unshare is not installed (util-linux)");
        // The program itself (the dotnet host or the published binary), not a /usr/bin link to it: /usr/bin is hidden (an empty tmpfs) for the server.
        var host = RuntimeProcess.Program;
        if (!Path.IsPathRooted(host))
            host = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, host)).FirstOrDefault(File.Exists) ?? host;
        host = new FileInfo(host).ResolveLinkTarget(true)?.FullName ?? host;
        if (host.StartsWith("/usr/bin/")) Assert.Skip($"the dotnet host {host} lives in /usr/bin");
        using var dir = new TempDir("emb-");
        var port = RuntimeProcess.FreePort();
        await using var server = ProcessRunner.Start("/usr/bin/unshare", ["-m", "--propagation", "private", "sh", "-c",
            "mount -t tmpfs none /usr/bin && exec \"$0\" \"$@\"", host, .. RuntimeProcess.Arguments("server"),
            "--data-dir", dir["srv"], "--bind-address", "127.0.0.1", "--https-listen-port", port.ToString(), "--kubelet-port", "0"]);
        Assert.True(await server.WaitUntilAsync(p => p.Out.Contains("embedded agent not running") || p.HasExited, TimeSpan.FromSeconds(60), Ct),
            $"no word about the agent:\n{server.Out}{server.Error}");
        Assert.False(server.HasExited, $"the server exited {(server.HasExited ? server.ExitCode : 0)}:\n{server.Out}{server.Error}");
        var lines = (server.Out + server.Error).Split('\n').Where(l => l.Contains("containerd")).ToList();
        Assert.Equal(["embedded agent not running: containerd is not installed (/usr/bin/containerd is missing)"],
            lines.Select(l => l[l.IndexOf("embedded agent", StringComparison.Ordinal)..l.IndexOf(';')]));
        Directory.CreateDirectory(dir["cache"]);
        Assert.Equal("ok", (await new Support.Kubectl(dir["srv/kubeconfig.yaml"], dir["cache"]).RunAsync("get", "--raw", "/readyz")).Ok().Out);
        Assert.False(server.HasExited);
        await ProcessRunner.RunAsync("kill", ["-TERM", server.Id.ToString()], ct: Ct);
        Assert.True(await server.WaitUntilAsync(p => p.HasExited, TimeSpan.FromSeconds(30), Ct));
        Assert.Equal(0, server.ExitCode);
    }

    /// <summary>
    /// `kubectl logs -f`, `exec` (stdin to its end, exit code) and `cp` both ways, through the API server to the
    /// embedded agent's kubelet API: a line the container writes to its own stdout while the log is followed shows up.
    /// </summary>
    static async Task StreamsAsync(Support.Kubectl kubectl, string pod, TempDir dir, Func<string> log)
    {
        await using (var follow = kubectl.Start("logs", "-f", pod))
        {
            Assert.True(await follow.WaitUntilAsync(p => p.Out.Contains($"serving {pod}") || p.HasExited, TimeSpan.FromSeconds(30), Ct),
                $"kubectl logs -f printed no log: {follow.Out}{follow.Error}{log()}");
            (await kubectl.RunAsync("exec", pod, "--", "sh", "-c", "echo streamed while followed > /proc/1/fd/1")).Ok();
            Assert.True(await follow.WaitUntilAsync(p => p.Out.Contains("streamed while followed") || p.HasExited, TimeSpan.FromSeconds(30), Ct),
                $"the followed log did not show the new line: {follow.Out}{follow.Error}{log()}");
            Assert.False(follow.HasExited, "kubectl logs -f ended while the container runs");
        }

        var echoed = (await kubectl.RunAsync(System.Text.Encoding.UTF8.GetBytes("hi\n"), "exec", "-i", pod, "--", "cat")).Ok();
        Assert.Equal("hi\n", echoed.Out);
        var failed = await kubectl.RunAsync("exec", pod, "--", "sh", "-c", "echo to stderr >&2; exit 3");
        Assert.Equal(3, failed.ExitCode);
        Assert.Contains("to stderr", failed.Error);

        var local = dir.Write("up.txt", "copied up\n");
        (await kubectl.RunAsync("cp", local, $"default/{pod}:/tmp/up.txt")).Ok();
        Assert.Equal("copied up\n", (await kubectl.RunAsync("exec", pod, "--", "cat", "/tmp/up.txt")).Ok().Out);
        (await kubectl.RunAsync("cp", $"default/{pod}:/tmp/up.txt", dir["down.txt"])).Ok();
        Assert.Equal("copied up\n", File.ReadAllText(dir["down.txt"]));
    }

    /// <summary>
    /// The agent serves cluster DNS on the cluster DNS address (10.43.0.10 on the node's lo): dig on the node, and a
    /// pod through its gateway with the resolv.conf the kubelet gave it (search path, ndots:5), find a new Service,
    /// whose ClusterIP then takes the pod to both of the Deployment's pods.
    /// </summary>
    static async Task ClusterDnsAsync(Support.Kubectl kubectl, string netns, string pod, Func<string> log)
    {
        var ip = (await kubectl.RunAsync("create", "service", "clusterip", "web", "--tcp=80:8080", "-o", "jsonpath={.spec.clusterIP}")).Ok().Out;
        await Poll.UntilAsync(() => ProcessRunner.RunAsync("/usr/bin/nsenter", [$"--net=/run/netns/{netns}", "dig", "@10.43.0.10", "+short", "+tries=1", "+time=2", "web.default.svc.cluster.local"], ct: Ct),
            r => r.Out == ip + "\n", TimeSpan.FromSeconds(20), "dig on the node for the new Service", r => r.Out + r.Error + log());
        var resolv = (await kubectl.RunAsync("exec", pod, "--", "cat", "/etc/resolv.conf")).Ok().Out;
        Assert.Contains("nameserver 10.43.0.10", resolv);
        Assert.Contains("search default.svc.cluster.local svc.cluster.local cluster.local", resolv);
        // busybox's nslookup asks every search domain at once and exits 1 because the other two are (rightly) NXDOMAIN.
        var lookup = await Poll.UntilAsync(() => kubectl.RunAsync("exec", pod, "--", "nslookup", "web"), r => r.Out.Contains(ip),
            TimeSpan.FromSeconds(20), "nslookup web inside the pod", r => r.Out + r.Error + log());
        Assert.Matches($@"Name:\s+web\.default\.svc\.cluster\.local\nAddress:\s+{System.Text.RegularExpressions.Regex.Escape(ip)}\n", lookup.Out);
        Assert.Contains("can't find web.svc.cluster.local: NXDOMAIN", lookup.Out);

        // The Service proxy: the ClusterIP's port 80 takes the pod to either pod's 8080, itself included (hairpin). By
        // address with nc: the fixture's busybox is static and its wget crashes (glibc cannot load NSS in it).
        var pages = new HashSet<string>();
        for (int i = 0; i < 20 && pages.Count < 2; i++)
        {
            var r = await kubectl.RunAsync("exec", pod, "--", "sh", "-c", $"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {ip} 80");
            Assert.True(r.ExitCode == 0 && r.Out.Contains("\r\n\r\n"), $"nc {ip} 80 from {pod}: {r.Out}{r.Error}{log()}");
            pages.Add(r.Out[(r.Out.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]);
        }
        Assert.Equal(2, pages.Count);
        Assert.All(pages, p => Assert.StartsWith("page of web-", p));
    }

    /// <summary>
    /// A LoadBalancer Service (ServiceLB): its ingress is the node's address, shown by kubectl as EXTERNAL-IP, and its
    /// port answers on that address from the LAN namespace with a page of one of the Deployment's pods.
    /// </summary>
    static async Task LoadBalancerAsync(Support.Kubectl kubectl, string lan, Func<string> log)
    {
        (await kubectl.RunAsync("expose", "deployment", "web", "--type=LoadBalancer", "--name=web-lb", "--port=8088", "--target-port=8080")).Ok();
        await Poll.UntilAsync(async () => (await kubectl.RunAsync("get", "svc", "web-lb", "-o", "jsonpath={.status.loadBalancer.ingress}")).Out,
            o => o == """[{"ip":"10.213.0.1","ipMode":"VIP"}]""", TimeSpan.FromSeconds(30), "the LoadBalancer's ingress", o => o + log());
        Assert.Matches(@"web-lb\s+LoadBalancer\s+\S+\s+10\.213\.0\.1\s+8088:3\d+/TCP", (await kubectl.RunAsync("get", "svc", "web-lb")).Ok().Out);
        var page = await Poll.UntilAsync(() => ProcessRunner.RunAsync("ip", ["netns", "exec", lan, "curl", "-sS", "--max-time", "5", "http://10.213.0.1:8088/"], ct: Ct),
            r => r.ExitCode == 0, TimeSpan.FromSeconds(20), "the LoadBalancer port from the LAN", r => r.Out + r.Error + log());
        Assert.StartsWith("page of web-", page.Out);
    }

    /// <summary>Waits (60 s) until exactly <paramref name="count"/> web pods run with an IP, none of them named in <paramref name="not"/>.</summary>
    static async Task<List<(string Name, string Ip)>> RunningAsync(Support.Kubectl kubectl, int count, string[] not, Func<string> log)
    {
        List<(string, string)> Running(string json) =>
            [.. JsonNode.Parse(json)!["items"]!.AsArray()
                .Where(p => (string?)p!["status"]?["phase"] == "Running" && p["status"]?["podIP"] is not null && p["metadata"]?["deletionTimestamp"] is null)
                .Select(p => ((string)p!["metadata"]!["name"]!, (string)p["status"]!["podIP"]!))];
        var json = await Poll.UntilAsync(async () => (await kubectl.RunAsync("get", "pods", "-l", "app=web", "-o", "json")).Out,
            o => o.Length > 0 && Running(o) is var r && r.Count == count && !r.Any(p => not.Contains(p.Item1)) && JsonNode.Parse(o)!["items"]!.AsArray().Count == count,
            TimeSpan.FromSeconds(60), $"{count} web pods Running", o => o + log());
        return Running(json);
    }

    /// <summary>
    /// NetworkPolicy enforced by the node's agent on real pods: a default deny for the web pods refuses
    /// <paramref name="client"/>'s connection to <paramref name="target"/> (the node itself still gets through, as
    /// kubelet probes must); an allow from pods labelled role=client opens that path once the client has the label, and
    /// only that path: the target still cannot reach the client.
    /// </summary>
    static async Task NetworkPolicyAsync(Support.Kubectl kubectl, string netns, string client, (string Name, string Ip) target, TempDir dir, Func<string> log)
    {
        var clientIp = (await kubectl.RunAsync("get", "pod", client, "-o", "jsonpath={.status.podIP}")).Ok().Out;
        Task<ProcessResult> Get(string from, string ip) => kubectl.RunAsync("exec", from, "--", "sh", "-c", $"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {ip} 8080");
        async Task Until(string from, string ip, bool open, string what)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await Poll.UntilAsync(() => Get(from, ip), r => (r.ExitCode == 0 && r.Out.Contains("page of")) == open, TimeSpan.FromSeconds(20), what, r => r.Out + r.Error + log());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"{what} took {clock.Elapsed}");
        }
        await Until(client, target.Ip, true, "the target open before any policy");

        (await kubectl.RunAsync("apply", "-f", dir.Write("deny.yaml", """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: web-deny, namespace: default}
            spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}
            """))).Ok();
        await Until(client, target.Ip, false, "the default deny refusing the client");
        var refused = await Get(client, target.Ip);
        Assert.Contains("refused", refused.Error + refused.Out, StringComparison.OrdinalIgnoreCase);
        var fromNode = await ProcessRunner.RunAsync("/usr/bin/nsenter", [$"--net=/run/netns/{netns}", "curl", "-sS", "--max-time", "5", $"http://{target.Ip}:8080/"], ct: Ct);
        Assert.True(fromNode.ExitCode == 0 && fromNode.Out.StartsWith("page of"), $"the node itself was refused: {fromNode.Error}{log()}");

        (await kubectl.RunAsync("apply", "-f", dir.Write("allow.yaml", """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: web-from-clients, namespace: default}
            spec:
              podSelector: {matchLabels: {app: web}}
              ingress:
              - from: [{podSelector: {matchLabels: {role: client}}}]
                ports: [{port: 8080}]
            """))).Ok();
        await Task.Delay(TimeSpan.FromSeconds(1), Ct);
        Assert.NotEqual(0, (await Get(client, target.Ip)).ExitCode); // no role=client label yet
        (await kubectl.RunAsync("label", "pod", client, "role=client")).Ok();
        await Until(client, target.Ip, true, "the allow by label opening the client's path");
        Assert.NotEqual(0, (await Get(target.Name, clientIp)).ExitCode); // the target has no role=client: still refused
        (await kubectl.RunAsync("delete", "netpol", "--all")).Ok();
        await Until(target.Name, clientIp, true, "everything open again without policies");
    }

    static async Task Ip(params string[] args) => (await ProcessRunner.RunAsync("ip", args, ct: Ct)).Ok();
}
