// networking.k8s.io/v1 NetworkPolicies through the real kubectl: discovery, apply (validated against our OpenAPI), get, describe, 422s.
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
public sealed class NetworkPolicyApiTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    const string Good = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: web-allow
          namespace: netpol-api
        spec:
          podSelector:
            matchLabels:
              app: web
          ingress:
          - from:
            - podSelector:
                matchLabels:
                  role: frontend
              namespaceSelector:
                matchLabels:
                  team: a
            - ipBlock:
                cidr: 10.0.0.0/8
                except: [10.1.0.0/16]
            ports:
            - port: 8080
              endPort: 8090
            - port: http
          egress:
          - ports:
            - port: 53
              protocol: UDP
        """;

    [Fact]
    public async Task Kubectl_AppliesGetsAndDescribes_ANetworkPolicy()
    {
        Support.Kubectl.RequireInstalled();
        using var _ = await fx.NamespaceClientAsync("netpol-api", Ct);
        var k = fx.Kubectl;

        var resources = (await k.RunAsync("api-resources", "--api-group=networking.k8s.io")).Ok();
        Assert.Matches(@"networkpolicies\s+netpol\s+networking.k8s.io/v1\s+true\s+NetworkPolicy", resources.Out);

        // Default client-side validation: kubectl checks the manifest against the server's OpenAPI.
        var apply = (await k.RunAsync(Encoding.UTF8.GetBytes(Good), "apply", "-f", "-")).Ok();
        Assert.Contains("networkpolicy.networking.k8s.io/web-allow created", apply.Out);

        var get = (await k.RunAsync("get", "netpol", "-n", "netpol-api")).Ok();
        Assert.Matches(@"NAME\s+POD-SELECTOR\s+AGE", get.Out);
        Assert.Matches(@"web-allow\s+app=web\s+\d+s", get.Out);

        var json = (await k.RunAsync("get", "networkpolicy", "web-allow", "-n", "netpol-api", "-o", "json")).Ok();
        var spec = JsonNode.Parse(json.Out)!["spec"]!;
        // Upstream's defaults: policyTypes from the rules given, TCP for a port without a protocol.
        Assert.Equal(["Ingress", "Egress"], spec["policyTypes"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal("TCP", spec["ingress"]![0]!["ports"]![1]!["protocol"]!.GetValue<string>());
        Assert.Equal("UDP", spec["egress"]![0]!["ports"]![0]!["protocol"]!.GetValue<string>());

        var describe = (await k.RunAsync("describe", "netpol", "web-allow", "-n", "netpol-api")).Ok();
        Assert.Matches(@"PodSelector:\s+app=web", describe.Out);
        Assert.Matches(@"PodSelector: role=frontend", describe.Out);
        Assert.Matches(@"NamespaceSelector: team=a", describe.Out);
        Assert.Contains("10.0.0.0/8", describe.Out);
        Assert.Contains("Except: 10.1.0.0/16", describe.Out);
        Assert.Contains("Policy Types: Ingress, Egress", describe.Out);

        (await k.RunAsync("delete", "netpol", "web-allow", "-n", "netpol-api")).Ok();
    }

    [Fact]
    public async Task BadPolicies_Are422NamingTheField()
    {
        Support.Kubectl.RequireInstalled();
        using var http = await fx.NamespaceClientAsync("netpol-bad", Ct);
        const string path = "/apis/networking.k8s.io/v1/namespaces/netpol-bad/networkpolicies";

        static JsonObject Policy(string name, JsonObject spec) => new()
        {
            ["apiVersion"] = "networking.k8s.io/v1", ["kind"] = "NetworkPolicy",
            ["metadata"] = new JsonObject { ["name"] = name }, ["spec"] = spec,
        };
        async Task<List<string>> Refused(JsonObject policy)
        {
            var r = await http.PostAsync(path, Json.Body(policy), Ct);
            var body = await r.Content.ReadAsStringAsync(Ct);
            Assert.True(r.StatusCode == HttpStatusCode.UnprocessableEntity, $"{(int)r.StatusCode}: {body}");
            var status = JsonNode.Parse(body)!;
            Assert.Equal("Invalid", status["reason"]!.GetValue<string>());
            return [.. status["details"]!["causes"]!.AsArray().Select(c => c!["field"]!.GetValue<string>())];
        }

        var two = await Refused(Policy("two-kinds", JsonNode.Parse("""
            {"ingress":[{"from":[{"ipBlock":{"cidr":"10.0.0.0/8"},"podSelector":{}},{}]}]}
            """)!.AsObject()));
        Assert.Equal(["spec.ingress[0].from[0]", "spec.ingress[0].from[1]"], two);

        var ports = await Refused(Policy("bad-ports", JsonNode.Parse("""
            {"egress":[{"ports":[{"port":70000},{"protocol":"ICMP"},{"port":"http","endPort":90},{"port":100,"endPort":90}]}]}
            """)!.AsObject()));
        Assert.Equal(["spec.egress[0].ports[0].port", "spec.egress[0].ports[1].protocol", "spec.egress[0].ports[2].endPort", "spec.egress[0].ports[3].endPort"], ports);

        var blocks = await Refused(Policy("bad-cidr", JsonNode.Parse("""
            {"ingress":[{"from":[{"ipBlock":{"cidr":"10.0.0.0/33"}},{"ipBlock":{"cidr":"10.0.0.0/8","except":["11.0.0.0/16","10.0.0.0/8"]}}]}],
             "policyTypes":["Ingress","Sideways"]}
            """)!.AsObject()));
        Assert.Equal(["spec.ingress[0].from[0].ipBlock.cidr", "spec.ingress[0].from[1].ipBlock.except[0]", "spec.ingress[0].from[1].ipBlock.except[1]", "spec.policyTypes[1]"], blocks);

        var selector = await Refused(Policy("bad-selector", JsonNode.Parse("""
            {"podSelector":{"matchExpressions":[{"key":"app","operator":"Near","values":["x"]}]}}
            """)!.AsObject()));
        Assert.Equal(["spec.podSelector.matchExpressions[0].operator"], selector);

        // kubectl shows the server's refusal (the schema is fine, the values are not).
        var apply = await fx.Kubectl.RunAsync(Encoding.UTF8.GetBytes("""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: bad-port, namespace: netpol-bad}
            spec:
              podSelector: {}
              ingress:
              - ports: [{port: 0}]
            """), "apply", "-f", "-");
        Assert.NotEqual(0, apply.ExitCode);
        Assert.Contains("The NetworkPolicy \"bad-port\" is invalid: spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive", apply.Error);
    }
}
