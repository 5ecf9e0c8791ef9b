// The cluster zone's records, looked up directly: what each kind of Service, endpoint and node gives.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.ClusterDns;

namespace Appliance.ClusterRuntime.Tests.Agent.ClusterDns;

[Trait("Category", "Unit")]
public sealed class ClusterZoneTests
{
    internal static JsonObject Service(string name, string ns, string clusterIp, string type = "ClusterIP", string? externalName = null, bool publishNotReady = false) =>
        JsonNode.Parse($$$"""
        {"metadata": {"name": "{{{name}}}", "namespace": "{{{ns}}}"},
         "spec": {"type": "{{{type}}}", "clusterIP": "{{{clusterIp}}}", "clusterIPs": ["{{{clusterIp}}}"], "publishNotReadyAddresses": {{{(publishNotReady ? "true" : "false")}}},
                  {{{(externalName is null ? "" : $"\"externalName\": \"{externalName}\",")}}}
                  "ports": [{"name": "http", "protocol": "TCP", "port": 80}, {"port": 9999}]}}
        """)!.AsObject();

    internal static JsonObject Slice(string service, string ns, params (string Ip, bool Ready, string? Hostname)[] endpoints) =>
        new()
        {
            ["metadata"] = new JsonObject { ["name"] = service + "-x", ["namespace"] = ns, ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = service } },
            ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["protocol"] = "TCP", ["port"] = 8080 }),
            ["endpoints"] = new JsonArray([.. endpoints.Select(e => (JsonNode)new JsonObject
            {
                ["addresses"] = new JsonArray(e.Ip),
                ["conditions"] = new JsonObject { ["ready"] = e.Ready },
                ["hostname"] = e.Hostname,
            })]),
        };

    internal static JsonObject Node(string name, string ip) => JsonNode.Parse($$$"""
        {"metadata": {"name": "{{{name}}}"}, "status": {"addresses": [{"type": "InternalIP", "address": "{{{ip}}}"}, {"type": "Hostname", "address": "{{{name}}}"}]}}
        """)!.AsObject();

    internal static ClusterZone Zone(params JsonObject[] extraSlices) => ClusterZone.Build("cluster.local", 5, 1,
        [Service("web", "default", "10.43.0.20"), Service("db", "shop", "None"), Service("ext", "default", "", "ExternalName", "files.example.org"),
         Service("empty", "shop", "None")],
        [Slice("db", "shop", ("10.42.0.5", true, "db-0"), ("10.42.1.6", true, null), ("10.42.1.7", false, null)), .. extraSlices],
        [Node("till-1", "192.168.7.11")]);

    static string[] Data(DnsAnswer? a) => [.. a!.Answers.Select(r => r.Data switch
    {
        DnsRecordData.Address x => x.Value.ToString(),
        DnsRecordData.DomainName x => x.Name,
        DnsRecordData.Service x => $"{x.Priority} {x.Weight} {x.Port} {x.Target}",
        _ => r.Data.ToString()!,
    }).Order()];

    [Fact]
    public void ClusterIpService_HasItsAddress_SrvPerNamedPort_AndAPointerBack()
    {
        var zone = Zone();
        Assert.Equal(["10.43.0.20"], Data(zone.Answer("web.default.svc.cluster.local", DnsType.A)));
        Assert.Equal(["10.43.0.20"], Data(zone.Answer("WEB.Default.svc.cluster.local.", DnsType.A)));
        Assert.Equal(["0 100 80 web.default.svc.cluster.local"], Data(zone.Answer("_http._tcp.web.default.svc.cluster.local", DnsType.SRV)));
        Assert.Equal(["web.default.svc.cluster.local"], Data(zone.Answer("20.0.43.10.in-addr.arpa", DnsType.PTR)));
        var aaaa = zone.Answer("web.default.svc.cluster.local", DnsType.AAAA)!;
        Assert.Equal((DnsRcode.NoError, 0, DnsType.SOA), (aaaa.Rcode, aaaa.Answers.Count, aaaa.Authority.Single().Type));
    }

    [Fact]
    public void HeadlessService_ListsReadyEndpoints_EachUnderItsOwnName()
    {
        var zone = Zone();
        Assert.Equal(["10.42.0.5", "10.42.1.6"], Data(zone.Answer("db.shop.svc.cluster.local", DnsType.A)));
        Assert.Equal(["10.42.0.5"], Data(zone.Answer("db-0.db.shop.svc.cluster.local", DnsType.A)));
        Assert.Equal(["10.42.1.6"], Data(zone.Answer("10-42-1-6.db.shop.svc.cluster.local", DnsType.A)));
        Assert.Equal(DnsRcode.NxDomain, zone.Answer("10-42-1-7.db.shop.svc.cluster.local", DnsType.A)!.Rcode);
        Assert.Equal(["0 100 8080 10-42-1-6.db.shop.svc.cluster.local", "0 100 8080 db-0.db.shop.svc.cluster.local"],
            Data(zone.Answer("_http._tcp.db.shop.svc.cluster.local", DnsType.SRV)));
        Assert.Equal(["db-0.db.shop.svc.cluster.local"], Data(zone.Answer("5.0.42.10.in-addr.arpa", DnsType.PTR)));
        var none = zone.Answer("empty.shop.svc.cluster.local", DnsType.A)!;
        Assert.Equal((DnsRcode.NoError, 0), (none.Rcode, none.Answers.Count));
    }

    [Fact]
    public void PublishNotReadyAddresses_ListsEveryEndpoint()
    {
        var zone = ClusterZone.Build("cluster.local", 5, 1, [Service("db", "shop", "None", publishNotReady: true)],
            [Slice("db", "shop", ("10.42.1.6", true, null), ("10.42.1.7", false, null))], []);
        Assert.Equal(["10.42.1.6", "10.42.1.7"], Data(zone.Answer("db.shop.svc.cluster.local", DnsType.A)));
    }

    [Fact]
    public void ExternalName_IsACnameForEveryType()
    {
        var zone = Zone();
        var a = zone.Answer("ext.default.svc.cluster.local", DnsType.A)!;
        Assert.Equal(DnsType.CNAME, a.Answers.Single().Type);
        Assert.Equal(["files.example.org"], Data(a));
    }

    [Fact]
    public void ExternalName_ToANameInTheZone_IsFollowedByTheServer()
    {
        var zone = ClusterZone.Build("cluster.local", 5, 1,
            [Service("web", "default", "10.43.0.20"), Service("alias", "shop", "", "ExternalName", "web.default.svc.cluster.local")], [], []);
        var a = zone.Answer("alias.shop.svc.cluster.local", DnsType.A)!;
        Assert.Equal([DnsType.CNAME, DnsType.A], a.Answers.Select(r => r.Type));
        Assert.Equal("10.43.0.20", ((DnsRecordData.Address)a.Answers[1].Data).Value.ToString());
        Assert.Equal([DnsType.CNAME], zone.Answer("alias.shop.svc.cluster.local", DnsType.CNAME)!.Answers.Select(r => r.Type));
    }

    [Fact]
    public void UnknownNamesInTheDomain_AreNxDomainWithTheSoa_ExistingParentsAreNoData_OthersAreNotOurs()
    {
        var zone = Zone();
        var missing = zone.Answer("nope.default.svc.cluster.local", DnsType.A)!;
        Assert.Equal((DnsRcode.NxDomain, true), (missing.Rcode, missing.Authoritative));
        var soa = (DnsRecordData.StartOfAuthority)missing.Authority.Single().Data;
        Assert.Equal(("ns.dns.cluster.local", 5u), (soa.PrimaryServer, soa.Minimum));
        // The search path's tries (ndots:5) end fast and negative.
        Assert.Equal(DnsRcode.NxDomain, zone.Answer("web.default.svc.cluster.local.default.svc.cluster.local", DnsType.A)!.Rcode);
        foreach (var parent in new[] { "default.svc.cluster.local", "svc.cluster.local", "cluster.local", "_tcp.web.default.svc.cluster.local" })
            Assert.Equal((DnsRcode.NoError, 0), (zone.Answer(parent, DnsType.A)!.Rcode, zone.Answer(parent, DnsType.A)!.Answers.Count));
        Assert.Null(zone.Answer("example.org", DnsType.A));
        Assert.Null(zone.Answer("1.1.168.192.in-addr.arpa", DnsType.PTR));
    }

    [Fact]
    public void PodNames_AndNodeHosts_Resolve()
    {
        var zone = Zone();
        Assert.Equal(["10.42.3.9"], Data(zone.Answer("10-42-3-9.shop.pod.cluster.local", DnsType.A)));
        Assert.Equal(["192.168.7.11"], Data(zone.Answer("till-1", DnsType.A)));
        Assert.Equal(DnsRcode.NxDomain, zone.Answer("x-y.shop.pod.cluster.local", DnsType.A)!.Rcode);
    }

    [Fact]
    public void ReverseNames_FollowRfc3596()
    {
        Assert.Equal("4.3.2.1.in-addr.arpa", ClusterZone.Reverse(IPAddress.Parse("1.2.3.4")));
        Assert.Equal("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", ClusterZone.Reverse(IPAddress.Parse("2001:db8::1")));
    }
}
