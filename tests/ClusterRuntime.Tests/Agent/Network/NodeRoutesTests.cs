// Routes to the other nodes' pod ranges, applied by the real ip in namespaces the test makes: added, moved, removed, warned.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Network;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent.Network;

[Trait("Category", "External")]
public sealed class NodeRoutesTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static JsonObject Node(string name, string ip, string cidr) => JsonNode.Parse($$$"""
        {"metadata": {"name": "{{{name}}}"}, "spec": {"podCIDR": "{{{cidr}}}", "podCIDRs": ["{{{cidr}}}"]},
         "status": {"addresses": [{"type": "InternalIP", "address": "{{{ip}}}"}, {"type": "Hostname", "address": "{{{name}}}"}]}}
        """)!.AsObject();

    static async Task<string> Ip(params string[] args) => (await ProcessRunner.RunAsync("ip", args, ct: Ct)).Ok().Out;

    [Fact]
    public async Task EachOtherNodesPodCidr_IsRoutedViaItsAddress_StaleRoutesGo_AndAPeerOffTheSegmentIsAWarning()
    {
        if (Environment.UserName != "root") Assert.Skip("network namespaces need root");
        var id = Guid.NewGuid().ToString("n")[..6];
        using var dir = new TempDir("routes-");
        string a = $"rta-{id}", b = $"rtb-{id}";
        await Ip("netns", "add", a);
        await Ip("netns", "add", b);
        try
        {
            // Two nodes on one segment (a veth pair), no default route anywhere; node B holds 10.42.1.1 as a pod would.
            await Ip("-n", a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b);
            await Ip("-n", a, "addr", "add", "10.213.5.1/24", "dev", "eth0");
            await Ip("-n", b, "addr", "add", "10.213.5.2/24", "dev", "eth0");
            foreach (var ns in new[] { a, b })
            {
                await Ip("-n", ns, "link", "set", "lo", "up");
                await Ip("-n", ns, "link", "set", "eth0", "up");
            }
            await Ip("-n", b, "addr", "add", "10.42.1.1/32", "dev", "lo");
            await Ip("-n", b, "route", "add", "10.42.0.0/24", "via", "10.213.5.1");

            var logs = new Appliance.ClusterRuntime.Tests.Agent.LogLines();
            var routes = new NodeRoutes(new HostCommand(["/usr/bin/nsenter", $"--net=/run/netns/{a}"]), "node-a", null, logs);
            await routes.EnableForwardingAsync(Ct);
            Assert.Contains("= 1", (await ProcessRunner.RunAsync("ip", ["netns", "exec", a, "sysctl", "net.ipv4.ip_forward"], ct: Ct)).Ok().Out);
            // An unrelated route of the node's own stays whatever happens.
            await Ip("-n", a, "route", "add", "10.99.0.0/16", "via", "10.213.5.2");

            await routes.SyncAsync([Node("node-a", "10.213.5.1", "10.42.0.0/24"), Node("node-b", "10.213.5.2", "10.42.1.0/24"), Node("node-c", "192.168.99.9", "10.42.2.0/24")], Ct);
            Assert.Equal($"10.42.1.0/24 via 10.213.5.2 dev eth0 \n", await Ip("-n", a, "route", "show", "proto", NodeRoutes.Proto));
            // Node A reaches the "pod" address on node B through the route.
            Directory.CreateDirectory(dir["www"]);
            File.WriteAllText(dir["www/index.html"], "pod on node b\n");
            await using (var web = ProcessRunner.Start("ip", ["netns", "exec", b, "python3", "-m", "http.server", "--bind", "10.42.1.1", "--directory", dir["www"], "8000"]))
            {
                var page = await Poll.UntilAsync(() => ProcessRunner.RunAsync("ip", ["netns", "exec", a, "curl", "-sS", "--max-time", "3", "http://10.42.1.1:8000/"], ct: Ct),
                    r => r.ExitCode == 0, TimeSpan.FromSeconds(20), "the page from node B's pod address", r => r.Error + web.Error);
                Assert.Equal("pod on node b\n", page.Out);
            }
            Assert.Contains(logs.Lines, l => l.StartsWith("Warning") && l.Contains("10.42.2.0/24 is behind 192.168.99.9, which is not on a directly connected network"));
            var warnings = logs.Lines.Count(l => l.StartsWith("Warning"));
            await routes.SyncAsync([Node("node-b", "10.213.5.2", "10.42.1.0/24"), Node("node-c", "192.168.99.9", "10.42.2.0/24")], Ct);
            Assert.Equal(warnings, logs.Lines.Count(l => l.StartsWith("Warning")));

            // Node B's pod range changes, then B leaves: the route follows, then goes; the unrelated route stays.
            await routes.SyncAsync([Node("node-b", "10.213.5.2", "10.42.7.0/24")], Ct);
            Assert.Equal($"10.42.7.0/24 via 10.213.5.2 dev eth0 \n", await Ip("-n", a, "route", "show", "proto", NodeRoutes.Proto));
            await routes.SyncAsync([], Ct);
            Assert.Equal("", await Ip("-n", a, "route", "show", "proto", NodeRoutes.Proto));
            Assert.Contains("10.99.0.0/16 via 10.213.5.2", await Ip("-n", a, "route", "show"));

            await routes.SyncAsync([Node("node-b", "10.213.5.2", "10.42.1.0/24")], Ct);
            await routes.CleanupAsync(Ct);
            Assert.Equal("", await Ip("-n", a, "route", "show", "proto", NodeRoutes.Proto));
        }
        finally
        {
            await ProcessRunner.RunAsync("ip", ["netns", "delete", a], ct: CancellationToken.None);
            await ProcessRunner.RunAsync("ip", ["netns", "delete", b], ct: CancellationToken.None);
        }
    }

    [Fact]
    public async Task AgentCleanup_RemovesOurRoutesTablesTheDnsAddressAndThePodsBridge_AndNothingElse()
    {
        if (Environment.UserName != "root") Assert.Skip("network namespaces need root");
        var ns = $"rtc-{Guid.NewGuid().ToString("n")[..6]}";
        await Ip("netns", "add", ns);
        try
        {
            await Ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1");
            await Ip("-n", ns, "addr", "add", "10.213.6.1/24", "dev", "eth0");
            await Ip("-n", ns, "link", "set", "eth0", "up");
            await Ip("-n", ns, "link", "set", "lo", "up");
            await Ip("-n", ns, "route", "add", "10.42.1.0/24", "via", "10.213.6.2", "proto", NodeRoutes.Proto);
            await Ip("-n", ns, "route", "add", "10.99.0.0/16", "via", "10.213.6.2");
            await Ip("-n", ns, "addr", "add", "10.43.0.10/32", "dev", "lo", "label", "lo:appliance");
            await Ip("-n", ns, "addr", "add", "10.50.0.1/32", "dev", "lo");
            // The pods' bridge as the CNI plugin leaves it, with one pod's veth still on it; another bridge is not ours.
            await Ip("-n", ns, "link", "add", "cni0", "type", "bridge");
            await Ip("-n", ns, "link", "add", "vethpod1", "type", "veth", "peer", "name", "podeth0");
            await Ip("-n", ns, "link", "set", "vethpod1", "master", "cni0");
            await Ip("-n", ns, "link", "add", "br-site", "type", "bridge");
            foreach (var table in new[] { "appliance", "appliance-policy", "someone-else" })
                (await ProcessRunner.RunAsync("ip", ["netns", "exec", ns, "nft", "add", "table", "ip", table], ct: Ct)).Ok();
            var r = await ProcessRunner.RunAsync("/usr/bin/nsenter", [$"--net=/run/netns/{ns}", .. RuntimeProcess.CommandLine("agent"), "--cleanup"], ct: Ct);
            Assert.True(r.ExitCode == 0, r.Out + r.Error);
            Assert.Equal("", await Ip("-n", ns, "route", "show", "proto", NodeRoutes.Proto));
            Assert.Contains("10.99.0.0/16 via 10.213.6.2", await Ip("-n", ns, "route", "show"));
            var lo = await Ip("-n", ns, "addr", "show", "dev", "lo");
            Assert.DoesNotContain("10.43.0.10", lo);
            Assert.Contains("10.50.0.1/32", lo);
            var links = await Ip("-n", ns, "-o", "link", "show");
            Assert.DoesNotContain("cni0", links);
            Assert.DoesNotContain("vethpod1", links);
            Assert.Contains("br-site", links);
            Assert.Contains("eth0", links);
            var tables = (await ProcessRunner.RunAsync("ip", ["netns", "exec", ns, "nft", "list", "tables"], ct: Ct)).Ok().Out;
            Assert.Equal("table ip someone-else", tables.Trim()); // the proxy's and the policy's tables are gone
        }
        finally
        {
            await ProcessRunner.RunAsync("ip", ["netns", "delete", ns], ct: CancellationToken.None);
        }
    }
}
