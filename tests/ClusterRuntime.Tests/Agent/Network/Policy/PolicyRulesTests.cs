// The NetworkPolicy renderer's text for the edge cases: who is isolated, what a rule with empty parts allows, named ports, ipBlocks.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Network.Policy;
using static Appliance.ClusterRuntime.Tests.Agent.Network.Policy.TestPolicyObjects;

namespace Appliance.ClusterRuntime.Tests.Agent.Network.Policy;

[Trait("Category", "Unit")]
public sealed class PolicyRulesTests
{
    static readonly JsonObject[] Namespaces = [Namespace("shop", "team=red"), Namespace("other", "team=blue")];

    static readonly JsonObject[] Pods =
    [
        Pod("shop", "db", "10.42.0.11", "app=db", ports: "pg=5432"),
        Pod("shop", "api", "10.42.0.12", "role=api", ports: "web=9090"),
        Pod("shop", "far", "10.42.1.13", "role=api", node: "node-b", ports: "web=9191"),
        Pod("other", "x", "10.42.0.14", "role=api"),
    ];

    static readonly System.Net.IPAddress[] ClusterDns = [System.Net.IPAddress.Parse("10.43.0.10")];

    static string Render(params JsonObject[] policies) => PolicyRules.Render("appliance-policy", policies, Pods, Namespaces, "node-a", ClusterDns).Text;

    /// <summary>The rules of a chain; a pod's chain starts with its own address (a pod cannot block itself), checked and left out.</summary>
    static List<string> Chain(string text, string name)
    {
        var lines = text.Split('\n').Select(l => l.Trim()).ToList();
        var start = lines.IndexOf($"chain {name} {{");
        Assert.True(start >= 0, $"no chain {name} in\n{text}");
        var rules = lines.Skip(start + 1).TakeWhile(l => l != "}").ToList();
        if (name.StartsWith("ingress-", StringComparison.Ordinal)) Assert.Equal($"ip saddr {name["ingress-".Length..]} accept", rules[0]);
        else if (name.StartsWith("egress-", StringComparison.Ordinal)) Assert.Equal($"ip daddr {name["egress-".Length..]} return", rules[0]);
        else return rules;
        return rules[1..];
    }

    [Fact]
    public void NoPolicies_IsolatesNobody()
    {
        var text = Render();
        Assert.Equal(["type filter hook forward priority filter; policy accept;", "ct state established,related accept", "ip saddr vmap @egress-pods", "ip daddr vmap @ingress-pods"], Chain(text, "forward"));
        // Pods reach their node freely (upstream), except the addresses it serves for a Service: the cluster DNS.
        Assert.Equal(["type filter hook input priority filter; policy accept;", "ct state established,related accept", "ip daddr != 10.43.0.10 accept", "ip saddr vmap @egress-pods"], Chain(text, "input"));
        Assert.DoesNotContain("hook input", PolicyRules.Render("appliance-policy", [], Pods, Namespaces, "node-a").Text);
        Assert.DoesNotContain("jump ingress-", text);
        Assert.DoesNotContain("jump egress-", text);
        Assert.Equal(text, Render()); // same input, same text
    }

    [Fact]
    public void EmptyPodSelector_WithNoRules_DeniesEveryPodOfItsNamespaceOnThisNode()
    {
        var text = Render(NetPol("shop", "deny", """{"podSelector":{},"policyTypes":["Ingress"]}"""));
        Assert.Contains("10.42.0.11 : jump ingress-10.42.0.11", text);
        Assert.Contains("10.42.0.12 : jump ingress-10.42.0.12", text);
        Assert.DoesNotContain("10.42.1.13 : jump", text); // the same namespace on another node: that node's business
        Assert.DoesNotContain("10.42.0.14 : jump", text); // another namespace
        Assert.DoesNotContain("jump egress-", text); // only Ingress in policyTypes
        Assert.Equal(["goto refuse"], Chain(text, "ingress-10.42.0.11"));
        Assert.Equal(["meta l4proto tcp ct status & dnat == 0 reject with tcp reset", "reject with icmp type admin-prohibited"], Chain(text, "refuse"));
    }

    [Fact]
    public void PolicyTypes_WhenAbsent_AreIngressAndEgressIfEgressRulesExist()
    {
        var ingressOnly = Render(NetPol("shop", "p", """{"podSelector":{"matchLabels":{"app":"db"}}}"""));
        Assert.Contains("jump ingress-10.42.0.11", ingressOnly);
        Assert.DoesNotContain("jump egress-", ingressOnly);
        var both = Render(NetPol("shop", "p", """{"podSelector":{"matchLabels":{"app":"db"}},"egress":[{}]}"""));
        Assert.Contains("jump ingress-10.42.0.11", both);
        Assert.Equal(["return", "goto refuse"], Chain(both, "egress-10.42.0.11"));
    }

    [Fact]
    public void EmptyFrom_IsEveryone_OnlyThePortsLimit_AndEmptyRuleAllowsAll()
    {
        var text = Render(NetPol("shop", "p", """
            {"podSelector":{"matchLabels":{"app":"db"}},"ingress":[{"ports":[{"port":5432},{"port":8000,"endPort":8100,"protocol":"UDP"},{"protocol":"SCTP"}]}]}
            """));
        Assert.Equal(["meta l4proto tcp th dport 5432 accept", "meta l4proto udp th dport 8000-8100 accept", "meta l4proto sctp accept", "goto refuse"], Chain(text, "ingress-10.42.0.11"));
        var all = Render(NetPol("shop", "p", """{"podSelector":{"matchLabels":{"app":"db"}},"ingress":[{}]}"""));
        Assert.Equal(["accept", "goto refuse"], Chain(all, "ingress-10.42.0.11"));
    }

    [Fact]
    public void Peers_BySelectors_AreThePodAddresses_InEveryNode()
    {
        var text = Render(NetPol("shop", "p", """
            {"podSelector":{"matchLabels":{"app":"db"}},"ingress":[
              {"from":[{"podSelector":{"matchLabels":{"role":"api"}}}]},
              {"from":[{"namespaceSelector":{"matchLabels":{"team":"blue"}}}]},
              {"from":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"shop"}},"podSelector":{"matchLabels":{"role":"api"}}}]},
              {"from":[{"podSelector":{"matchLabels":{"role":"nobody"}}}]}]}
            """));
        Assert.Equal([
            "ip saddr { 10.42.0.12, 10.42.1.13 } accept", // same namespace only, on both nodes
            "ip saddr 10.42.0.14 accept",                  // every pod of the namespaces selected
            "goto refuse"], Chain(text, "ingress-10.42.0.11")); // the third is the first again; a selector of nobody allows nothing
    }

    [Fact]
    public void IpBlock_KeepsItsExceptions_AndDropsAnExceptionInsideAnother()
    {
        var text = Render(NetPol("shop", "p", """
            {"podSelector":{"matchLabels":{"app":"db"}},"policyTypes":["Egress"],"egress":[
              {"to":[{"ipBlock":{"cidr":"10.0.0.1/8","except":["10.1.0.0/16","10.1.2.0/24","10.2.0.0/16"]}},{"ipBlock":{"cidr":"fd00::/8"}}],"ports":[{"port":443}]}]}
            """));
        Assert.Equal(["ip daddr 10.0.0.0/8 ip daddr != { 10.1.0.0/16, 10.2.0.0/16 } meta l4proto tcp th dport 443 return", "goto refuse"], Chain(text, "egress-10.42.0.11"));
    }

    [Fact]
    public void NamedPorts_IngressFromTheTargetPod_EgressFromEachDestination()
    {
        var ingress = Render(NetPol("shop", "p", """{"podSelector":{},"ingress":[{"ports":[{"port":"pg"}]}]}"""));
        Assert.Equal(["meta l4proto tcp th dport 5432 accept", "goto refuse"], Chain(ingress, "ingress-10.42.0.11"));
        Assert.Equal(["goto refuse"], Chain(ingress, "ingress-10.42.0.12")); // api has no port named pg
        var egress = Render(NetPol("shop", "p", """
            {"podSelector":{"matchLabels":{"app":"db"}},"policyTypes":["Egress"],"egress":[{"to":[{"podSelector":{"matchLabels":{"role":"api"}}}],"ports":[{"port":"web"}]}]}
            """));
        Assert.Equal(["ip daddr . meta l4proto . th dport { 10.42.0.12 . tcp . 9090, 10.42.1.13 . tcp . 9191 } return", "goto refuse"], Chain(egress, "egress-10.42.0.11"));
    }

    [Fact]
    public void SeveralPolicies_AreAUnion_AndHostNetworkOrFinishedPodsAreNeitherTargetsNorPeers()
    {
        var host = Pod("shop", "host", "10.0.0.10", "role=api");
        host["spec"]!["hostNetwork"] = true;
        var done = Pod("shop", "done", "10.42.0.15", "role=api");
        done["status"]!["phase"] = "Succeeded";
        JsonObject[] policies = [NetPol("shop", "a", """{"podSelector":{},"ingress":[{"from":[{"podSelector":{"matchLabels":{"role":"api"}}}]}]}"""),
            NetPol("shop", "b", """{"podSelector":{"matchLabels":{"app":"db"}},"ingress":[{"ports":[{"port":5432}]}]}""")];
        var text = PolicyRules.Render("appliance-policy", policies, [.. Pods, host, done], Namespaces, "node-a").Text;
        Assert.Equal(["ip saddr { 10.42.0.12, 10.42.1.13 } accept", "meta l4proto tcp th dport 5432 accept", "goto refuse"], Chain(text, "ingress-10.42.0.11"));
        Assert.DoesNotContain("10.0.0.10", text);
        Assert.DoesNotContain("10.42.0.15", text);
    }
}
