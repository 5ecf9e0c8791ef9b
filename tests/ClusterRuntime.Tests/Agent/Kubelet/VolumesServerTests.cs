// Env and volumes read a ConfigMap and a Secret from a real server through the agent's ApiClient; an update shows on the next sync.
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.Kubelet.Env;
using Appliance.ClusterRuntime.Agent.Kubelet.Volumes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent.Kubelet;

[Trait("Category", "External")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class VolumesServerTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ConfigMapAndSecret_FromTheServer_ReachEnvAndFiles_AndAnUpdateShowsOnTheNextSync()
    {
        using var api = new ApiClient(fixture.Server.CreateClient());
        var suffix = Guid.NewGuid().ToString("N")[..8];
        string cm = "cfg-" + suffix, secret = "sec-" + suffix;
        await api.CreateAsync("/api/v1/namespaces/default/configmaps", new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = cm },
            ["data"] = new JsonObject { ["greeting"] = "hello" },
        }, Ct);
        await api.CreateAsync("/api/v1/namespaces/default/secrets", new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Secret", ["metadata"] = new JsonObject { ["name"] = secret },
            ["data"] = new JsonObject { ["password"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("s3cret")) },
        }, Ct);
        var pod = JsonNode.Parse($$$$"""
            {"metadata":{"name":"p","namespace":"default","uid":"uid-{{{{suffix}}}}"},
             "spec":{"volumes":[{"name":"conf","configMap":{"name":"{{{{cm}}}}"}},{"name":"sec","secret":{"secretName":"{{{{secret}}}}"}}],
               "containers":[{"name":"app","env":[{"name":"PW","valueFrom":{"secretKeyRef":{"name":"{{{{secret}}}}","key":"password"}}}],
                 "envFrom":[{"configMapRef":{"name":"{{{{cm}}}}"},"prefix":"CM_"}]}]}}
            """)!.AsObject();
        var container = pod["spec"]!["containers"]![0]!.AsObject();
        var objects = new ApiPodObjects(api);

        var env = await new EnvResolver(objects).ResolveAsync(pod, container, PodFacts.None, Ct);
        Assert.Equal(["CM_greeting=hello", "PW=s3cret"], env.Env.Select(e => $"{e.Key}={e.Value}"));

        using var dir = new TempDir("vs-");
        var volumes = new PodVolumes(dir.Path, objects);
        await volumes.SetUpAsync(pod, PodFacts.None, Ct);
        var greeting = Path.Combine(volumes.PodDir("uid-" + suffix), "volumes/kubernetes.io~configmap/conf/greeting");
        Assert.Equal("hello", File.ReadAllText(greeting));
        Assert.Equal("s3cret", File.ReadAllText(Path.Combine(volumes.PodDir("uid-" + suffix), "volumes/kubernetes.io~secret/sec/password")));
        Assert.Empty(await volumes.SyncAsync(pod, PodFacts.None, Ct));

        await api.MergePatchAsync($"/api/v1/namespaces/default/configmaps/{cm}", new JsonObject { ["data"] = new JsonObject { ["greeting"] = "bonjour" } }, Ct);
        Assert.Equal(["conf"], await volumes.SyncAsync(pod, PodFacts.None, Ct));
        Assert.Equal("bonjour", File.ReadAllText(greeting));

        // A deleted non-optional key source: the container waits with upstream's words.
        using (var http = fixture.Server.CreateClient())
            (await http.DeleteAsync($"/api/v1/namespaces/default/secrets/{secret}", Ct)).EnsureSuccessStatusCode();
        var e = await Assert.ThrowsAsync<ContainerConfigException>(() => new EnvResolver(objects).ResolveAsync(pod, container, PodFacts.None, Ct));
        Assert.Equal($"secret \"{secret}\" not found", e.Message);
        volumes.TearDown("uid-" + suffix);
    }
}
