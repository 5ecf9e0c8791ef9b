// The cluster DNS following a real server: Services and endpoints created, changed and deleted show in dig's answers.
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.ClusterDns;
using Appliance.ClusterRuntime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.ClusterRuntime.Tests.Agent.ClusterDns;

[Trait("Category", "External")]
public sealed class ClusterDnsServiceTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ServicesAndEndpoints_ReachDigWithinTwoSeconds_AndDeletedOnesGoNxDomain()
    {
        if (!File.Exists("/usr/bin/dig")) Assert.Skip("/usr/bin/dig is not installed (.ci/packages.d/agent.txt: dnsutils)");
        const string ns = "dns-follow";
        using var http = await fixture.NamespaceClientAsync(ns, Ct);
        using var api = new ApiClient(fixture.Server.CreateClient());
        var cluster = new WatchedObjects(api, NullLogger.Instance);
        var service = new ClusterDnsService(cluster, new IPEndPoint(IPAddress.Loopback, 0), "cluster.local", [], NullLogger.Instance);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var watches = cluster.RunAsync(stop.Token);
        var running = service.RunAsync(stop.Token);
        try
        {
            await Poll.UntilAsync(() => Task.FromResult(service.Server), s => s is not null, TimeSpan.FromSeconds(30), "the DNS server after the first lists");
            var port = service.Server!.Endpoint.Port.ToString();
            async Task<string> Dig(params string[] args) =>
                (await ProcessRunner.RunAsync("/usr/bin/dig", ["@127.0.0.1", "-p", port, "+tries=1", "+time=2", .. args], ct: Ct)).Ok().Out;
            async Task<TimeSpan> Until(string name, Func<string, bool> done, string what, params string[] args)
            {
                var clock = Stopwatch.StartNew();
                await Poll.UntilAsync(() => Dig([.. args, name]), done, TimeSpan.FromSeconds(10), what);
                return clock.Elapsed;
            }

            // The kubernetes Service of the default namespace is there from the first list.
            Assert.Matches(@"^\d+\.\d+\.\d+\.\d+\n$", await Dig("+short", "kubernetes.default.svc.cluster.local"));

            var created = await http.PostAsync($"/api/v1/namespaces/{ns}/services", Json.Body(JsonNode.Parse("""
                {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]}}
                """)!), Ct);
            var ip = (string)(await Json.ReadAsync(created.EnsureSuccessStatusCode()))["spec"]!["clusterIP"]!;
            var took = await Until($"web.{ns}.svc.cluster.local", o => o == ip + "\n", "the new Service's address", "+short");
            // A behaviour bound with room for a loaded machine; the typical figure is well under a second (bench/network dns).
            Assert.True(took < TimeSpan.FromSeconds(10), $"the Service took {took} to reach DNS");

            // A headless Service without a selector, and its EndpointSlice written by hand: ready endpoints only.
            (await http.PostAsync($"/api/v1/namespaces/{ns}/services", Json.Body(JsonNode.Parse("""
                {"metadata": {"name": "db"}, "spec": {"clusterIP": "None", "ports": [{"name": "pg", "port": 5432}]}}
                """)!), Ct)).EnsureSuccessStatusCode();
            (await http.PostAsync($"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices", Json.Body(JsonNode.Parse("""
                {"metadata": {"name": "db-1", "labels": {"kubernetes.io/service-name": "db"}}, "addressType": "IPv4",
                 "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}],
                 "endpoints": [{"addresses": ["10.42.0.5"], "hostname": "db-0", "conditions": {"ready": true}},
                               {"addresses": ["10.42.1.6"], "conditions": {"ready": true}},
                               {"addresses": ["10.42.1.7"], "conditions": {"ready": false}}]}
                """)!), Ct)).EnsureSuccessStatusCode();
            await Until($"db.{ns}.svc.cluster.local", o => o.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order().SequenceEqual(["10.42.0.5", "10.42.1.6"]), "the headless Service's ready endpoints", "+short");
            Assert.Equal($"0 100 5432 10-42-1-6.db.{ns}.svc.cluster.local.\n0 100 5432 db-0.db.{ns}.svc.cluster.local.\n",
                string.Concat((await Dig("+short", "SRV", $"_pg._tcp.db.{ns}.svc.cluster.local")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).Select(l => l + "\n")));

            (await http.DeleteAsync($"/api/v1/namespaces/{ns}/services/web", Ct)).EnsureSuccessStatusCode();
            took = await Until($"web.{ns}.svc.cluster.local", o => o.Contains("status: NXDOMAIN"), "NXDOMAIN for the deleted Service");
            Assert.True(took < TimeSpan.FromSeconds(10), $"the deletion took {took} to reach DNS");
        }
        finally
        {
            stop.Cancel();
            await running;
            try { await watches; } catch (OperationCanceledException) { }
        }
    }

    [Fact]
    public void Upstreams_AreTheNameserversOfResolvConf_NoneWithoutTheFile()
    {
        using var dir = new TempDir("resolv-");
        var path = dir.Write("resolv.conf", "# site\nsearch shop.lan\nnameserver 192.168.7.1\nnameserver fe80::1%eth0\nnameserver nonsense\noptions ndots:2\n");
        Assert.Equal(["192.168.7.1:53", "[fe80::1]:53"], ClusterDnsService.Upstreams(path).Select(e => e.ToString()));
        Assert.Empty(ClusterDnsService.Upstreams(dir["missing"]));
    }
}
