// Container environment: envFrom and env order, $(VAR) expansion, valueFrom sources, and upstream's error words.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Kubelet.Env;

namespace Appliance.ClusterRuntime.Tests.Agent.Kubelet;

[Trait("Category", "Unit")]
public sealed class EnvTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static JsonObject Pod(JsonObject container) => JsonNode.Parse("""
        {"metadata":{"name":"web","namespace":"shop","uid":"u-1","labels":{"app":"web","tier":"front"},"annotations":{"note":"a \"quoted\"\nline"}},
         "spec":{"nodeName":"node-a","serviceAccountName":"builder","containers":[]},
         "status":{"podIP":"10.42.0.9","podIPs":[{"ip":"10.42.0.9"},{"ip":"fd00::9"}],"hostIP":"192.168.1.5"}}
        """)!.AsObject() is var pod && pod["spec"]!["containers"]!.AsArray().Count == 0 ? Add(pod, container) : pod;

    static JsonObject Add(JsonObject pod, JsonObject c) { pod["spec"]!["containers"]!.AsArray().Add(c); return pod; }

    static async Task<ContainerEnv> ResolveAsync(MemoryPodObjects objects, string containerJson, PodFacts? facts = null)
    {
        var c = JsonNode.Parse(containerJson)!.AsObject();
        return await new EnvResolver(objects).ResolveAsync(Pod(c), c, facts ?? PodFacts.None, Ct);
    }

    [Theory]
    [InlineData("$(A)-$(B)", "x-y")]
    [InlineData("$$(A)", "$(A)")]
    [InlineData("$$$(A)", "$x")]
    [InlineData("$(MISSING) $(A)", "$(MISSING) x")]
    [InlineData("$(A", "$(A")]
    [InlineData("cost $5 $", "cost $5 $")]
    [InlineData("$()", "$()")]
    [InlineData("$(NESTED)", "$(A)")]
    public void Expand_FollowsUpstreamRules(string input, string expected)
    {
        var map = new Dictionary<string, string> { ["A"] = "x", ["B"] = "y", ["NESTED"] = "$(A)" };
        Assert.Equal(expected, EnvExpansion.Expand(input, n => map.GetValueOrDefault(n)));
    }

    [Fact]
    public async Task EnvFrom_ThenEnv_WithPrefix_OverrideInPlace_AndExpansionSeesOnlyEarlierEntries()
    {
        var objects = new MemoryPodObjects().ConfigMap("cfg", ("MODE", "fast"), ("LEVEL", "3"), ("bad key", "z")).Secret("creds", ("USER", "ann"));
        var env = await ResolveAsync(objects, """
            {"name":"app","envFrom":[{"configMapRef":{"name":"cfg"}},{"secretRef":{"name":"creds"},"prefix":"DB_"}],
             "env":[{"name":"URL","value":"$(DB_USER)@$(HOST)/$(MODE)"},{"name":"HOST","value":"db"},{"name":"MODE","value":"slow"},
                    {"name":"ESC","value":"$$(MODE)"}],
             "command":["/bin/run","--mode=$(MODE)"],"args":["$(URL)","$$(HOST)","$(NOPE)"]}
            """);
        Assert.Equal(
            ["LEVEL=3", "MODE=slow", "DB_USER=ann", "URL=ann@$(HOST)/fast", "HOST=db", "ESC=$(MODE)"],
            env.Env.Select(e => $"{e.Key}={e.Value}"));
        Assert.Equal(["Keys [bad key] from the EnvFrom configMap shop/cfg were skipped since they are considered invalid environment variable names."], env.Warnings);
        var c = JsonNode.Parse("""{"command":["/bin/run","--mode=$(MODE)"],"args":["$(URL)","$$(HOST)","$(NOPE)"]}""")!.AsObject();
        var (command, args) = env.Expand(c);
        Assert.Equal(["/bin/run", "--mode=slow"], command);
        Assert.Equal(["ann@$(HOST)/fast", "$(HOST)", "$(NOPE)"], args);
    }

    [Fact]
    public async Task ValueFrom_FieldRefs_ResourceFieldRefs_AndKeyRefs()
    {
        var objects = new MemoryPodObjects().ConfigMap("cfg", ("k", "from-cm")).Secret("s", ("pw", "hunter2"));
        var env = await ResolveAsync(objects, """
            {"name":"app","resources":{"limits":{"cpu":"1500m","memory":"128Mi"},"requests":{"cpu":"250m"}},"env":[
              {"name":"N","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}},
              {"name":"NS","valueFrom":{"fieldRef":{"fieldPath":"metadata.namespace"}}},
              {"name":"UID","valueFrom":{"fieldRef":{"fieldPath":"metadata.uid"}}},
              {"name":"APP","valueFrom":{"fieldRef":{"fieldPath":"metadata.labels['app']"}}},
              {"name":"NOTE","valueFrom":{"fieldRef":{"fieldPath":"metadata.annotations['note']"}}},
              {"name":"NODE","valueFrom":{"fieldRef":{"fieldPath":"spec.nodeName"}}},
              {"name":"SA","valueFrom":{"fieldRef":{"fieldPath":"spec.serviceAccountName"}}},
              {"name":"IP","valueFrom":{"fieldRef":{"fieldPath":"status.podIP"}}},
              {"name":"IPS","valueFrom":{"fieldRef":{"fieldPath":"status.podIPs"}}},
              {"name":"HOST","valueFrom":{"fieldRef":{"fieldPath":"status.hostIP"}}},
              {"name":"CPU","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu"}}},
              {"name":"CPU_M","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu","divisor":"1m"}}},
              {"name":"REQ_CPU_M","valueFrom":{"resourceFieldRef":{"resource":"requests.cpu","divisor":"1m"}}},
              {"name":"MEM_MI","valueFrom":{"resourceFieldRef":{"resource":"limits.memory","divisor":"1Mi"}}},
              {"name":"CM","valueFrom":{"configMapKeyRef":{"name":"cfg","key":"k"}}},
              {"name":"PW","valueFrom":{"secretKeyRef":{"name":"s","key":"pw"}}},
              {"name":"OPT","valueFrom":{"configMapKeyRef":{"name":"cfg","key":"nope","optional":true}}},
              {"name":"OPT2","valueFrom":{"secretKeyRef":{"name":"gone","key":"x","optional":true}}}]}
            """);
        Assert.Equal(new Dictionary<string, string>
        {
            ["N"] = "web", ["NS"] = "shop", ["UID"] = "u-1", ["APP"] = "web", ["NOTE"] = "a \"quoted\"\nline", ["NODE"] = "node-a",
            ["SA"] = "builder", ["IP"] = "10.42.0.9", ["IPS"] = "10.42.0.9,fd00::9", ["HOST"] = "192.168.1.5",
            ["CPU"] = "2", ["CPU_M"] = "1500", ["REQ_CPU_M"] = "250", ["MEM_MI"] = "128", ["CM"] = "from-cm", ["PW"] = "hunter2",
        }, env.Env.ToDictionary(e => e.Key, e => e.Value));
        Assert.Equal(3, objects.Reads); // cfg, s, gone: one read per object per resolve
    }

    [Fact]
    public async Task Facts_OverrideStatus_AndAllocatableStandsInForAnUnsetLimit()
    {
        var facts = new PodFacts(["10.42.1.2"], ["192.168.9.9", "fd00::1"], new JsonObject { ["cpu"] = "4", ["memory"] = "2Gi" });
        var env = await ResolveAsync(new MemoryPodObjects(), """
            {"name":"app","env":[{"name":"IP","valueFrom":{"fieldRef":{"fieldPath":"status.podIP"}}},
              {"name":"HOSTS","valueFrom":{"fieldRef":{"fieldPath":"status.hostIPs"}}},
              {"name":"CPU","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu"}}},
              {"name":"MEM","valueFrom":{"resourceFieldRef":{"resource":"limits.memory","divisor":"1Gi"}}}]}
            """, facts);
        Assert.Equal(["IP=10.42.1.2", "HOSTS=192.168.9.9,fd00::1", "CPU=4", "MEM=2"], env.Env.Select(e => $"{e.Key}={e.Value}"));
    }

    [Theory]
    [InlineData("""{"name":"x","valueFrom":{"configMapKeyRef":{"name":"cfg","key":"missing"}}}""", "couldn't find key missing in ConfigMap shop/cfg")]
    [InlineData("""{"name":"x","valueFrom":{"secretKeyRef":{"name":"s","key":"missing"}}}""", "couldn't find key missing in Secret shop/s")]
    [InlineData("""{"name":"x","valueFrom":{"configMapKeyRef":{"name":"absent","key":"k"}}}""", "configmap \"absent\" not found")]
    [InlineData("""{"name":"x","valueFrom":{"secretKeyRef":{"name":"absent","key":"k"}}}""", "secret \"absent\" not found")]
    [InlineData("""{"name":"x","valueFrom":{"fieldRef":{"fieldPath":"spec.hostname"}}}""", "unsupported fieldPath: spec.hostname")]
    [InlineData("""{"name":"x","valueFrom":{"resourceFieldRef":{"resource":"limits.gpu"}}}""", "unsupported container resource : limits.gpu")]
    public async Task Missing_NonOptional_IsCreateContainerConfigError_InUpstreamWords(string envEntry, string message)
    {
        var objects = new MemoryPodObjects().ConfigMap("cfg", ("k", "v")).Secret("s", ("k", "v"));
        var e = await Assert.ThrowsAsync<ContainerConfigException>(() => ResolveAsync(objects, $$"""{"name":"app","env":[{{envEntry}}]}"""));
        Assert.Equal(message, e.Message);
        Assert.Equal("CreateContainerConfigError", e.Reason);
    }

    [Fact]
    public async Task EnvFrom_MissingSource_FailsUnlessOptional()
    {
        var e = await Assert.ThrowsAsync<ContainerConfigException>(() => ResolveAsync(new MemoryPodObjects(), """{"name":"app","envFrom":[{"secretRef":{"name":"nope"}}]}"""));
        Assert.Equal("secret \"nope\" not found", e.Message);
        var env = await ResolveAsync(new MemoryPodObjects(), """{"name":"app","envFrom":[{"configMapRef":{"name":"nope","optional":true}}],"env":[{"name":"A","value":"1"}]}""");
        Assert.Equal(["A=1"], env.Env.Select(p => $"{p.Key}={p.Value}"));
    }
}
