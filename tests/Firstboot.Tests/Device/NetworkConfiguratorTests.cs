// The network step inside network namespaces the tests make (and a UTS namespace for the host name): static, DHCP, no DHCP answer.
using System.Diagnostics;
using Appliance.Firstboot.Device;

namespace Appliance.Firstboot.Tests.Device;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class NetworkConfiguratorTests
{
    const string Busybox = "/usr/bin/busybox";
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A device: its own network namespace (with a link to a LAN namespace) and its own host name.</summary>
    sealed class Device : IAsyncDisposable
    {
        public required NetworkNamespace Net { get; init; }
        public required NetworkNamespace Lan { get; init; }
        public required ChildProcess Uts { get; init; }
        public required TempDir Dir { get; init; }
        public List<string> Log { get; } = [];

        public string[] Prefix => [.. Net.Enter, $"--uts=/proc/{Uts.Id}/ns/uts"];

        public static async Task<Device> CreateAsync()
        {
            Assert.SkipWhen(NetworkNamespace.Unavailable is not null, NetworkNamespace.Unavailable ?? "");
            Assert.SkipUnless(File.Exists(Busybox), "busybox-static is not installed (.ci/packages.d/firstboot-device.txt)");
            var net = await NetworkNamespace.CreateAsync("fbd-");
            var lan = await NetworkNamespace.CreateAsync("fbl-");
            await net.LinkAsync("dev0", lan, "lan0");
            var uts = ProcessRunner.Start("/usr/bin/unshare", ["--uts", "sleep", "600"]);
            return new Device { Net = net, Lan = lan, Uts = uts, Dir = new TempDir("fb-net-") };
        }

        public NetworkConfigurator Configurator(NetworkSettings settings, Func<NetworkEnvironment, NetworkEnvironment>? tune = null)
        {
            var env = new NetworkEnvironment(new DeviceCommands(Prefix, Busybox), Dir["data/logs"])
            {
                EtcDirectory = Dir["etc"],
                StateDirectory = Dir["run/network"],
            };
            Directory.CreateDirectory(Dir["etc"]);
            return new NetworkConfigurator(settings, tune?.Invoke(env) ?? env, l => { lock (Log) Log.Add(l); });
        }

        public async Task<string> Ip(params string[] args) => (await ProcessRunner.RunAsync(Net.Enter[0], [.. Net.Enter[1..], Busybox, "ip", .. args], ct: Ct)).Ok().Out;

        public async ValueTask DisposeAsync()
        {
            Uts.Dispose();
            await Net.DisposeAsync();
            await Lan.DisposeAsync();
            Dir.Dispose();
        }
    }

    [Fact]
    public async Task StaticAddresses_Gateway_Dns_AndHostname_AreApplied_AndASecondRunAddsNothing()
    {
        await using var d = await Device.CreateAsync();
        (await d.Lan.RunAsync("ip", "addr", "add", "192.168.77.1/24", "dev", "lan0")).Ok();
        // A second link without a gateway: no default route comes from it.
        (await ProcessRunner.RunAsync("ip", ["-n", d.Net.Name, "link", "add", "dev1", "type", "veth", "peer", "name", "dev1p"], ct: Ct)).Ok();
        var settings = new NetworkSettings("edge-1", [
            new InterfaceSettings("dev0") { Addresses = ["192.168.77.5/24", "10.77.0.5/16"], Gateway = "192.168.77.1", Dns = ["192.168.77.1", "192.168.77.2"] },
            new InterfaceSettings("dev1") { Addresses = ["192.168.88.5/24"], Dns = ["192.168.77.2"] },
            new InterfaceSettings("eth9") { Addresses = ["192.168.99.5/24"] },
        ]);
        Assert.Equal("192.168.77.5", settings.PrimaryStaticAddress?.ToString());

        for (int run = 1; run <= 2; run++)
        {
            await using var net = d.Configurator(settings);
            var report = await net.ApplyAsync(Ct);

            Assert.Equal(InterfaceState.Configured, report.Interfaces[0].State);
            Assert.Equal(InterfaceState.Configured, report.Interfaces[1].State);
            var missing = report.Interfaces[2];
            Assert.Equal(InterfaceState.Failed, missing.State);
            Assert.Contains("interface eth9 does not exist", missing.Reason);
            Assert.Equal(["eth9: " + missing.Reason], report.Problems);
            Assert.Equal("default via 192.168.77.1 dev dev0", report.DefaultRoute);

            var addrs = await d.Ip("-o", "-4", "addr", "show", "dev", "dev0");
            Assert.Equal(1, Count(addrs, "inet 192.168.77.5/24 "));
            Assert.Equal(1, Count(addrs, "inet 10.77.0.5/16 "));
            Assert.Equal(1, Count(await d.Ip("-o", "-4", "addr", "show", "dev", "dev1"), "inet 192.168.88.5/24 "));
            var routes = (await d.Ip("route", "show")).Split('\n').Where(l => l.StartsWith("default", StringComparison.Ordinal));
            Assert.Equal("default via 192.168.77.1 dev dev0", Assert.Single(routes).Trim());
            Assert.Contains("UP", await d.Ip("link", "show", "dev", "lo"));
            Assert.Equal("edge-1", (await ProcessRunner.RunAsync("/usr/bin/nsenter", [$"--uts=/proc/{d.Uts.Id}/ns/uts", "hostname"], ct: Ct)).Ok().Out.Trim());
            Assert.Equal("edge-1\n", File.ReadAllText(d.Dir["etc/hostname"]));
            var resolv = File.ReadAllLines(d.Dir["etc/resolv.conf"]).Where(l => !l.StartsWith('#')).ToArray();
            Assert.Equal(["nameserver 192.168.77.1", "nameserver 192.168.77.2"], resolv);
        }
        // The address works: the gateway answers.
        (await d.Net.RunAsync(Busybox, "ping", "-c", "1", "-W", "3", "192.168.77.1")).Ok();
        Assert.NotEqual("edge-1", Environment.MachineName); // the host's own name is untouched
    }

    [Fact]
    public async Task Dhcp_LeaseFromUdhcpdInTheLan_IsApplied_WithRouteAndDns_AndARerunKeepsOneAddress()
    {
        await using var d = await Device.CreateAsync();
        await using var udhcpd = await StartUdhcpdAsync(d);
        var settings = new NetworkSettings("edge-dhcp", [new InterfaceSettings("dev0") { Dhcp = true }]);
        string? first = null;
        for (int run = 1; run <= 2; run++)
        {
            await using var net = d.Configurator(settings, e => e with { FirstLeaseTimeout = TimeSpan.FromSeconds(30) });
            var report = await net.ApplyAsync(Ct);
            var dev0 = report.Interfaces.Single();
            Assert.True(dev0.State == InterfaceState.DhcpBound, $"{dev0.Reason}\n{string.Join("\n", d.Log)}\n{Logs(d)}");
            var lease = Assert.Single(dev0.Addresses);
            Assert.StartsWith("192.168.99.", lease);
            Assert.EndsWith("/24", lease);
            first ??= lease;
            Assert.Equal(first, lease);
            Assert.Equal("default via 192.168.99.1 dev dev0", report.DefaultRoute);
            var addrs = await d.Ip("-o", "-4", "addr", "show", "dev", "dev0");
            Assert.Equal(1, Count(addrs, "inet "));
            Assert.Equal(1, Count(addrs, $"inet {lease} "));
            Assert.Contains("nameserver 192.168.99.53", File.ReadAllLines(d.Dir["etc/resolv.conf"]));
            Assert.True(File.Exists(d.Dir["data/logs/udhcpc-dev0.log"]));
            Assert.Equal(SupervisorState.Running, net.DhcpClients.Single().Status.State);
        }
    }

    [Fact]
    public async Task Dhcp_WithoutAnAnswer_ReturnsPromptlyWithTheReason_AndTheBackgroundClientTakesALaterLease()
    {
        await using var d = await Device.CreateAsync();
        var settings = new NetworkSettings("edge-dhcp", [new InterfaceSettings("dev0") { Dhcp = true }]);
        await using var net = d.Configurator(settings, e => e with { FirstLeaseTimeout = TimeSpan.FromSeconds(3), DhcpRetryPause = TimeSpan.FromSeconds(2) });
        var clock = Stopwatch.StartNew();
        var report = await net.ApplyAsync(Ct);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the step took {clock.Elapsed.TotalSeconds:0.0} s");
        var dev0 = report.Interfaces.Single();
        Assert.Equal(InterfaceState.DhcpWaiting, dev0.State);
        Assert.Equal("no DHCP answer on dev0 within 3 s; udhcpc keeps asking in the background", dev0.Reason);
        Assert.Empty(report.Problems); // no answer and no default route are normal, not failures
        Assert.Null(report.DefaultRoute);
        Assert.Contains(d.Log, l => l.Contains("no default route (normal"));

        // The client's first round (3 discovers 2 s apart) ends unanswered and is recorded; only then does a DHCP
        // server come up, which the client, still running, finds.
        var eventFile = d.Dir["run/network/dev0.event"];
        var recorded = Stopwatch.StartNew();
        while (!(File.Exists(eventFile) && File.ReadAllText(eventFile).Contains("leasefail")) && recorded.Elapsed < TimeSpan.FromSeconds(60))
            await Task.Delay(200, Ct);
        Assert.True(File.Exists(eventFile), $"no leasefail recorded within 60 s\n{Logs(d)}");
        await using var udhcpd = await StartUdhcpdAsync(d);
        string? lease = null;
        var wait = Stopwatch.StartNew();
        while ((lease = net.ReadLease("dev0")) is null && wait.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(200, Ct);
        Assert.True(lease is not null, $"no lease within 60 s\n{Logs(d)}");
        Assert.Contains($"inet {lease} ", await d.Ip("-o", "-4", "addr", "show", "dev", "dev0"));
        Assert.Contains("leasefail", File.ReadAllText(eventFile));
    }

    static async Task<ChildProcess> StartUdhcpdAsync(Device d)
    {
        var lanAddress = (await d.Lan.RunAsync("ip", "-o", "-4", "addr", "show", "dev", "lan0")).Ok().Out;
        if (!lanAddress.Contains("192.168.99.1/24")) (await d.Lan.RunAsync("ip", "addr", "add", "192.168.99.1/24", "dev", "lan0")).Ok();
        var conf = d.Dir.Write("udhcpd.conf", $"""
            start 192.168.99.100
            end 192.168.99.150
            interface lan0
            lease_file {d.Dir["udhcpd.leases"]}
            pidfile {d.Dir["udhcpd.pid"]}
            option subnet 255.255.255.0
            option router 192.168.99.1
            option dns 192.168.99.53
            option lease 600

            """);
        File.WriteAllText(d.Dir["udhcpd.leases"], "");
        return d.Lan.Start(Busybox, "udhcpd", "-f", conf);
    }

    static string Logs(Device d) =>
        File.Exists(d.Dir["data/logs/udhcpc-dev0.log"]) ? File.ReadAllText(d.Dir["data/logs/udhcpc-dev0.log"]) : "(no udhcpc log)";

    static int Count(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}
