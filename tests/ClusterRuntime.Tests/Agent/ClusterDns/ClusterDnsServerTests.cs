// The DNS server on loopback, asked by the real dig: the zone's answers over UDP and TCP, truncation, forwarding, failure.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Appliance.ClusterRuntime.Agent.ClusterDns;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.ClusterRuntime.Tests.Agent.ClusterDns;

[Trait("Category", "External")]
public sealed class ClusterDnsServerTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    const string Dig = "/usr/bin/dig";

    static void RequireDig()
    {
        if (!File.Exists(Dig)) Assert.Skip($"{Dig} is not installed (.ci/packages.d/agent.txt: dnsutils)");
    }

    static async Task<string> DigAsync(ClusterDnsServer server, params string[] args) =>
        (await ProcessRunner.RunAsync(Dig, ["@127.0.0.1", "-p", server.Endpoint.Port.ToString(), "+tries=1", "+time=4", .. args], ct: Ct)).Ok().Out;

    static ClusterDnsServer Start(IReadOnlyList<IPEndPoint>? upstreams = null, Appliance.ClusterRuntime.Agent.ClusterDns.ClusterZone? zone = null) =>
        ClusterDnsServer.Start(new IPEndPoint(IPAddress.Loopback, 0), zone ?? ClusterZoneTests.Zone(), upstreams ?? [], NullLogger.Instance);

    [Fact]
    public async Task Dig_GetsServicesHeadlessEndpointsSrvCnameAndPointers()
    {
        RequireDig();
        await using var server = Start();
        Assert.Equal("10.43.0.20\n", await DigAsync(server, "+short", "web.default.svc.cluster.local"));
        Assert.Equal(["10.42.0.5", "10.42.1.6"], (await DigAsync(server, "+short", "db.shop.svc.cluster.local")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
        Assert.Equal("0 100 80 web.default.svc.cluster.local.\n", await DigAsync(server, "+short", "SRV", "_http._tcp.web.default.svc.cluster.local"));
        Assert.Equal("files.example.org.\n", await DigAsync(server, "+short", "ext.default.svc.cluster.local"));
        Assert.Equal("web.default.svc.cluster.local.\n", await DigAsync(server, "+short", "-x", "10.43.0.20"));
        Assert.Equal("10.43.0.20\n", await DigAsync(server, "+short", "+tcp", "web.default.svc.cluster.local"));
        var missing = await DigAsync(server, "nope.default.svc.cluster.local");
        Assert.Contains("status: NXDOMAIN", missing);
        Assert.Matches(@"flags: qr aa rd ra", missing);
        Assert.Matches(@"cluster\.local\.\s+5\s+IN\s+SOA\s+ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\.", missing);
    }

    [Fact]
    public async Task ALargeAnswer_IsTruncatedOverUdp_AndDigGetsItAllOverTcp()
    {
        RequireDig();
        var endpoints = Enumerable.Range(1, 200).Select(i => ($"10.42.{i / 250}.{i % 250 + 1}", true, (string?)null)).ToArray();
        var zone = ClusterZone.Build("cluster.local", 5, 1, [ClusterZoneTests.Service("big", "default", "None")],
            [ClusterZoneTests.Slice("big", "default", endpoints)], []);
        await using var server = Start(zone: zone);
        var udpOnly = await DigAsync(server, "+noedns", "+ignore", "big.default.svc.cluster.local");
        Assert.Matches(@"flags: qr aa tc rd ra;", udpOnly);
        Assert.Contains("ANSWER: 0", udpOnly);
        var all = (await DigAsync(server, "+short", "+noedns", "big.default.svc.cluster.local")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(200, all.Length);
    }

    [Fact]
    public async Task OtherNames_AreForwarded_AndFailFastWhenNoUpstreamAnswers()
    {
        RequireDig();
        var site = ClusterZone.Build("shop.lan", 30, 1, [], [], [ClusterZoneTests.Node("printer.shop.lan", "192.168.7.50")]);
        await using var upstream = Start(zone: site);
        await using (var server = Start([upstream.Endpoint]))
            Assert.Equal("192.168.7.50\n", await DigAsync(server, "+short", "printer.shop.lan"));

        // Offline: no upstream at all answers at once; one that never answers gives SERVFAIL before dig's own 4 s timeout.
        await using (var offline = Start())
            Assert.Contains("status: SERVFAIL", await DigAsync(offline, "example.org"));
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using var unreachable = Start([(IPEndPoint)silent.LocalEndPoint!]);
        var clock = Stopwatch.StartNew();
        Assert.Contains("status: SERVFAIL", await DigAsync(unreachable, "example.org"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3.5), $"SERVFAIL took {clock.Elapsed}");
    }

    [Fact]
    public async Task MalformedMessages_GetFormErr_OrAreDropped()
    {
        await using var server = Start();
        using var client = new UdpClient(AddressFamily.InterNetwork);
        client.Connect(server.Endpoint);
        async Task<byte[]?> Ask(byte[] message)
        {
            await client.SendAsync(message, Ct);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            wait.CancelAfter(TimeSpan.FromSeconds(1));
            try { return (await client.ReceiveAsync(wait.Token)).Buffer; }
            catch (OperationCanceledException) { return null; }
        }
        // A header saying one question, then a name whose compression pointer points at itself.
        var loop = await Ask([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1]);
        Assert.NotNull(loop);
        Assert.Equal((0x12, 0x34, 1), (loop[0], loop[1], loop[3] & 0xF));
        // A response is not answered, nor is a message shorter than a header.
        Assert.Null(await Ask([0x12, 0x34, 0x81, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]));
        Assert.Null(await Ask([1, 2, 3]));
        // The server still answers after them.
        byte[] query = [0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, (byte)'w', (byte)'e', (byte)'b', 7, .. "default"u8, 3, .. "svc"u8, 7, .. "cluster"u8, 5, .. "local"u8, 0, 0, 1, 0, 1];
        var answer = await Ask(query);
        Assert.NotNull(answer);
        Assert.Equal((0xAB, 0xCD, 0, 1), (answer[0], answer[1], answer[3] & 0xF, answer[7]));
        Assert.Equal([10, 43, 0, 20], answer[^4..]);
    }
}
