// The ServiceLB placement rule as a pure function: order, per-node ports, eligible nodes, the opt-in label, Local.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.ServiceLb;
using Appliance.ClusterRuntime.Tests.Agent.Network.ServiceProxy;
using static Appliance.ClusterRuntime.Tests.Agent.Network.ServiceProxy.ProxyObjects;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "Unit")]
public sealed class LbPlacementTests
{
    static JsonObject Node(string name, string ip, bool ready = true, bool cordoned = false, string? enable = null) => new()
    {
        ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = enable is null ? new JsonObject() : new JsonObject { [LbPlacements.EnableLabel] = enable } },
        ["spec"] = new JsonObject { ["unschedulable"] = cordoned },
        ["status"] = new JsonObject
        {
            ["addresses"] = new JsonArray(new JsonObject { ["type"] = "InternalIP", ["address"] = ip }),
            ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = ready ? "True" : "False" }),
        },
    };

    static JsonObject Lb(string name, string created, int[] ports, string? policy = null, string? cls = null)
    {
        var svc = Service(name, "10.43.0.1", type: "LoadBalancer", externalPolicy: policy);
        svc["metadata"]!["creationTimestamp"] = created;
        svc["spec"]!["ports"] = new JsonArray([.. ports.Select(p => (JsonNode)new JsonObject { ["name"] = "p", ["port"] = p, ["protocol"] = "TCP" })]);
        if (cls is not null) svc["spec"]!["loadBalancerClass"] = cls;
        return svc;
    }

    static readonly JsonObject[] Nodes = [Node("n2", "10.0.0.12"), Node("n1", "10.0.0.11"), Node("n3", "10.0.0.13", ready: false), Node("n4", "10.0.0.14", cordoned: true)];

    [Fact]
    public void TheOlderServiceKeepsAPort_TheNewerNamesIt_AndOtherPortsFitBeside()
    {
        var p = LbPlacements.Place([Lb("a-new", "2026-01-01T00:00:02Z", [80]), Lb("z-old", "2026-01-01T00:00:01Z", [80, 443]),
            Lb("web", "2026-01-01T00:00:03Z", [8080]), Lb("other", "2026-01-01T00:00:04Z", [80], cls: "example.com/lb")], Nodes, []);
        Assert.Equal(["10.0.0.11", "10.0.0.12"], p["default/z-old"].Ingress); // Ready, schedulable nodes only, sorted
        Assert.Empty(p["default/a-new"].Ingress);
        Assert.Equal(("80/TCP", "default/z-old"), (p["default/a-new"].TakenPort, p["default/a-new"].TakenBy));
        Assert.Equal(["10.0.0.11", "10.0.0.12"], p["default/web"].Ingress);
        Assert.Null(p["default/web"].TakenPort);
        Assert.False(p.ContainsKey("default/other")); // another implementation's class
        Assert.Equal("""{"ingress":[{"ip":"10.0.0.11","ipMode":"VIP"},{"ip":"10.0.0.12","ipMode":"VIP"}]}""", LbPlacements.Status(p["default/web"]).ToJsonString());
        Assert.Equal("{}", LbPlacements.Status(p["default/a-new"]).ToJsonString());
    }

    [Fact]
    public void OnceANodeCarriesTheEnableLabel_OnlyNodesLabelledTrueServe()
    {
        JsonObject[] nodes = [Node("n1", "10.0.0.11", enable: "true"), Node("n2", "10.0.0.12", enable: "false"), Node("n3", "10.0.0.13")];
        Assert.Equal(["10.0.0.11"], LbPlacements.Place([Lb("web", "2026-01-01T00:00:01Z", [80])], nodes, [])["default/web"].Ingress);
    }

    [Fact]
    public void LocalPolicy_TakesOnlyNodesWithAnEndpoint_SoAnotherServiceFitsOnTheRest()
    {
        JsonObject[] services = [Lb("local", "2026-01-01T00:00:01Z", [80], policy: "Local"), Lb("later", "2026-01-01T00:00:02Z", [80])];
        JsonObject[] slices = [Slice("local", 8080, "TCP", new Ep("10.42.1.5", Node: "n2"), new Ep("10.42.0.5", Node: "n1", Ready: false, Serving: false))];
        var p = LbPlacements.Place(services, Nodes, slices);
        Assert.Equal(["10.0.0.12"], p["default/local"].Ingress);
        Assert.Equal(["10.0.0.11"], p["default/later"].Ingress); // the port is free on n1
        Assert.Equal("default/local", p["default/later"].TakenBy);
    }
}
