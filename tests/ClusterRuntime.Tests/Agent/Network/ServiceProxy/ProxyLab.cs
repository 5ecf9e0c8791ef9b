// A node, its pods and a LAN host in network namespaces the test creates, for the Service proxy's real-packet tests.
using Appliance.ClusterRuntime.Agent.Network;
using Appliance.ClusterRuntime.Agent.Network.ServiceProxy;
using Appliance.ClusterRuntime.Tests.Agent;

namespace Appliance.ClusterRuntime.Tests.Agent.Network.ServiceProxy;

/// <summary>
/// "node" holds bridge br0 (10.42.0.1/24, the pod gateway, hairpin on every port, as the CNI bridge plugin sets it)
/// and eth0 (10.0.0.10/24) towards "lan" (10.0.0.20/24); pods p1..p4 are 10.42.0.11..14 behind br0, each running a
/// server that answers its name on TCP 8080 and 9090 and UDP 5353 (the node too, as "node", when asked). No namespace has a default route except the pods (to their
/// gateway). Dispose stops the servers and deletes the namespaces, so nothing of the host is touched.
/// </summary>
internal sealed class ProxyLab : IAsyncDisposable
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    const string ServerScript = """
        import socket, sys, threading
        name, mode = sys.argv[1], sys.argv[2]
        def answer(peer):
            return (peer[0] if mode == "peer" else name).encode()
        def listen(port):
            t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("0.0.0.0", port)); t.listen(256)
            return t
        def tcp(t):
            while True:
                c, a = t.accept()
                try: c.sendall(answer(a) + b"\n")
                except OSError: pass
                c.close()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 5353))
        def udp():
            while True:
                d, a = u.recvfrom(2048); u.sendto(answer(a), a)
        main, other = listen(8080), listen(9090)
        threading.Thread(target=udp, daemon=True).start()
        threading.Thread(target=tcp, args=(other,), daemon=True).start()
        print("ready", flush=True)
        tcp(main)
        """;

    // One line per attempt: the answer, or refused/timeout/error:ERRNO, then the seconds it took.
    const string ClientScript = """
        import socket, sys, time
        proto, host, port, count, sport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        for i in range(count):
            t = time.monotonic()
            try:
                if proto == "tcp":
                    s = socket.socket(); s.settimeout(2)
                    if sport: s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", sport))
                    s.connect((host, port)); out = s.recv(100).decode().strip()
                else:
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind(("0.0.0.0", sport)); s.settimeout(2); s.connect((host, port)); s.send(b"q"); out = s.recv(100).decode()
                s.close()
            except ConnectionRefusedError: out = "refused"
            except (socket.timeout, TimeoutError): out = "timeout"
            except OSError as e: out = "error:%d" % e.errno
            print("%s %.3f" % (out, time.monotonic() - t), flush=True)
        """;

    readonly string _id = Guid.NewGuid().ToString("n")[..6];
    readonly List<ChildProcess> _servers = [];
    readonly List<string> _namespaces = [];

    public string Node => "pxn-" + _id;
    public string Lan => "pxl-" + _id;
    public string Pod(int i) => $"pxp{i}-{_id}";
    public static string PodIp(int i) => $"10.42.0.{10 + i}";

    /// <summary>The proxy for the node namespace: nft and conntrack run inside it.</summary>
    public NftProxy Proxy { get; }

    /// <summary>What the proxy logged.</summary>
    public LogLines Log { get; } = new();

    ProxyLab() => Proxy = new NftProxy(Log, command: new HostCommand(["ip", "netns", "exec", Node]));

    /// <summary>Skips the test unless it can run: root, ip, nft, conntrack, python3.</summary>
    public static void RequireTools()
    {
        if (Environment.UserName != "root") Assert.Skip("network namespaces need root");
        foreach (var tool in new[] { "/usr/sbin/nft", "/usr/sbin/conntrack", "/usr/bin/python3", "/usr/bin/ip" })
            if (!File.Exists(tool) && !File.Exists(tool.Replace("/usr/sbin/", "/sbin/").Replace("/usr/bin/", "/bin/")))
                Assert.Skip($"{tool} is not installed (.ci/packages.d/network.txt)");
    }

    /// <summary>Builds the lab; <paramref name="lanServer"/> runs the server (answering the peer's address) on the LAN host, <paramref name="nodeServer"/> one (answering "node") on the node itself, as a host process.</summary>
    public static async Task<ProxyLab> StartAsync(int pods = 4, bool lanServer = false, bool nodeServer = false)
    {
        RequireTools();
        var lab = new ProxyLab();
        try { await lab.BuildAsync(pods, lanServer, nodeServer); }
        catch { await lab.DisposeAsync(); throw; }
        return lab;
    }

    async Task BuildAsync(int pods, bool lanServer, bool nodeServer)
    {
        foreach (var ns in new[] { Node, Lan }.Concat(Enumerable.Range(1, pods).Select(Pod)))
        {
            await Ip("netns", "add", ns);
            _namespaces.Add(ns);
            await Ip("-n", ns, "link", "set", "lo", "up");
        }
        await Sysctl(Node, "net.ipv4.ip_forward=1");
        await Sysctl(Node, "net.bridge.bridge-nf-call-iptables=1");
        await Ip("-n", Node, "link", "add", "br0", "type", "bridge");
        await Ip("-n", Node, "addr", "add", "10.42.0.1/24", "dev", "br0");
        await Ip("-n", Node, "link", "set", "br0", "up");
        await Ip("-n", Node, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", Lan);
        await Ip("-n", Node, "addr", "add", "10.0.0.10/24", "dev", "eth0");
        await Ip("-n", Lan, "addr", "add", "10.0.0.20/24", "dev", "eth0");
        await Ip("-n", Node, "link", "set", "eth0", "up");
        await Ip("-n", Lan, "link", "set", "eth0", "up");
        for (var i = 1; i <= pods; i++)
        {
            await Ip("-n", Node, "link", "add", $"veth{i}", "type", "veth", "peer", "name", "eth0", "netns", Pod(i));
            await Ip("-n", Node, "link", "set", $"veth{i}", "master", "br0");
            await Ip("-n", Node, "link", "set", $"veth{i}", "type", "bridge_slave", "hairpin", "on");
            await Ip("-n", Node, "link", "set", $"veth{i}", "up");
            await Ip("-n", Pod(i), "addr", "add", PodIp(i) + "/24", "dev", "eth0");
            await Ip("-n", Pod(i), "link", "set", "eth0", "up");
            await Ip("-n", Pod(i), "route", "add", "default", "via", "10.42.0.1");
            await StartServerAsync(Pod(i), $"p{i}", "name");
        }
        if (lanServer) await StartServerAsync(Lan, "lan", "peer");
        if (nodeServer) await StartServerAsync(Node, "node", "name");
    }

    async Task StartServerAsync(string ns, string name, string mode)
    {
        var server = ProcessRunner.Start("ip", ["netns", "exec", ns, "/usr/bin/python3", "-c", ServerScript, name, mode]);
        _servers.Add(server);
        if (!await server.WaitUntilAsync(p => p.Out.Contains("ready"), TimeSpan.FromSeconds(30)))
            throw new InvalidOperationException($"the server in {ns} did not start: {server.Error}");
    }

    /// <summary>
    /// <paramref name="count"/> attempts from namespace <paramref name="ns"/> to host:port, one after another, each
    /// with a 2 s limit: (answer or refused/timeout/error:N, seconds).
    /// </summary>
    public async Task<List<(string Answer, double Seconds)>> ClientAsync(string ns, string proto, string host, int port, int count = 1, int sourcePort = 0)
    {
        var r = (await ProcessRunner.RunAsync("ip", ["netns", "exec", ns, "/usr/bin/python3", "-c", ClientScript, proto, host, port.ToString(), count.ToString(), sourcePort.ToString()],
            new ProcessOptions { Timeout = TimeSpan.FromSeconds(30 + 3 * count) }, Ct)).Ok();
        return [.. r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).Select(p => (p[0], double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture)))];
    }

    /// <summary>The node namespace's ruleset as <c>nft list ruleset</c> prints it.</summary>
    public async Task<string> RulesetAsync() => (await ProcessRunner.RunAsync("ip", ["netns", "exec", Node, "nft", "list", "ruleset"], ct: Ct)).Ok().Out;

    static async Task Ip(params string[] args) => (await ProcessRunner.RunAsync("ip", args, ct: Ct)).Ok();
    static async Task Sysctl(string ns, string setting) => (await ProcessRunner.RunAsync("ip", ["netns", "exec", ns, "sysctl", "-qw", setting], ct: Ct)).Ok();

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _servers) await s.DisposeAsync();
        foreach (var ns in _namespaces) await ProcessRunner.RunAsync("ip", ["netns", "delete", ns]);
    }
}
