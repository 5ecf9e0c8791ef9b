// The kubelet's pod inputs against a real server and containerd: env, envFrom, downward API, volumes, updates, teardown.
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Kubelet.Volumes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "External")]
public sealed class KubeletInputsTests(KubeletHost.Fixture node) : IClassFixture<KubeletHost.Fixture>
{
    KubeletHost Host => node.Host;
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static JsonObject Container(string name, string script, params JsonNode[] mounts) => new()
    {
        ["name"] = name,
        ["image"] = ContainerdHost.Busybox,
        ["command"] = new JsonArray("sh", "-c", script),
        ["volumeMounts"] = new JsonArray(mounts),
    };

    static JsonObject Mount(string name, string path, string? subPath = null)
    {
        var m = new JsonObject { ["name"] = name, ["mountPath"] = path };
        if (subPath is not null) m["subPath"] = subPath;
        return m;
    }

    Task CreateConfigMapAsync(string name, string key, string value) => Host.Api.CreateAsync("/api/v1/namespaces/default/configmaps",
        new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = name }, ["data"] = new JsonObject { [key] = value } }, Ct);

    Task<JsonObject> WaitPodAsync(string name, Func<JsonObject, bool> done, TimeSpan timeout, string what) => Host.WaitPodAsync(name, done, timeout, what);

    /// <summary>The container's log (CRI format, first attempt), as kubectl logs would read it.</summary>
    Task<string> LogAsync(JsonObject pod, string container, Func<string, bool> done, string what)
    {
        var path = Path.Combine(Host.Containerd["pods"], $"default_{pod["metadata"]!["name"]}_{pod["metadata"]!["uid"]}", container, "0.log");
        return Poll.UntilAsync(() => Task.FromResult(File.Exists(path) ? File.ReadAllText(path) : ""), done, TimeSpan.FromSeconds(60), what);
    }

    static string Uid(JsonObject pod) => pod["metadata"]!["uid"]!.GetValue<string>();

    static JsonObject? Waiting(JsonObject pod) => pod["status"]?["containerStatuses"]?[0]?["state"]?["waiting"] as JsonObject;

    [Fact]
    public async Task Containers_SeeEnvFromConfigMapSecretAndFields_AndTheirVolumes_WhichGoWithThePod()
    {
        await Host.StartAsync();
        await CreateConfigMapAsync("inputs-cfg", "greeting", "hello");
        await Host.Api.CreateAsync("/api/v1/namespaces/default/secrets", new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Secret", ["metadata"] = new JsonObject { ["name"] = "inputs-sec" },
            ["data"] = new JsonObject { ["password"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("s3cret")) },
        }, Ct);
        var writer = Container("writer",
            "echo \"CFG=$CFG_greeting\"; echo \"PASSWORD=$PASSWORD\"; echo \"NAME=$POD_NAME\"; echo \"IP=$POD_IP\"; echo \"MEM_MI=$MEM_MI\"; " +
            "echo \"EXPANDED=$(POD_NAME)\"; echo \"FILE=`cat /etc/cfg/greeting`\"; echo \"SECRET=`cat /etc/sec/password`\"; " +
            "echo \"MODE=`stat -L -c %a /etc/sec/password`\"; sed 's/^/LABEL /' /etc/info/labels; echo; " +
            "S=`grep ' /scratch ' /proc/mounts | cut -d' ' -f3`; echo \"SCRATCH=$S\"; echo from-writer > /shared/msg; echo done; sleep 3600",
            Mount("cfg", "/etc/cfg"), Mount("sec", "/etc/sec"), Mount("info", "/etc/info"), Mount("shared", "/shared"), Mount("scratch", "/scratch"));
        writer["envFrom"] = new JsonArray(new JsonObject { ["prefix"] = "CFG_", ["configMapRef"] = new JsonObject { ["name"] = "inputs-cfg" } });
        writer["env"] = new JsonArray(
            new JsonObject { ["name"] = "PASSWORD", ["valueFrom"] = new JsonObject { ["secretKeyRef"] = new JsonObject { ["name"] = "inputs-sec", ["key"] = "password" } } },
            new JsonObject { ["name"] = "POD_NAME", ["valueFrom"] = new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "metadata.name" } } },
            new JsonObject { ["name"] = "POD_IP", ["valueFrom"] = new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "status.podIP" } } },
            new JsonObject { ["name"] = "MEM_MI", ["valueFrom"] = new JsonObject { ["resourceFieldRef"] = new JsonObject { ["resource"] = "limits.memory", ["divisor"] = "1Mi" } } });
        writer["resources"] = new JsonObject { ["limits"] = new JsonObject { ["memory"] = "64Mi" } };
        var reader = Container("reader", "while [ ! -f /shared/msg ]; do sleep 0.2; done; echo \"SHARED=`cat /shared/msg`\"; sleep 3600", Mount("shared", "/shared"));
        var spec = new JsonObject
        {
            ["terminationGracePeriodSeconds"] = 1,
            ["containers"] = new JsonArray(writer, reader),
            ["volumes"] = new JsonArray(
                new JsonObject { ["name"] = "cfg", ["configMap"] = new JsonObject { ["name"] = "inputs-cfg" } },
                new JsonObject { ["name"] = "sec", ["secret"] = new JsonObject { ["secretName"] = "inputs-sec", ["defaultMode"] = 256 } },
                new JsonObject { ["name"] = "info", ["downwardAPI"] = new JsonObject { ["items"] = new JsonArray(
                    new JsonObject { ["path"] = "labels", ["fieldRef"] = new JsonObject { ["fieldPath"] = "metadata.labels" } }) } },
                new JsonObject { ["name"] = "shared", ["emptyDir"] = new JsonObject() },
                new JsonObject { ["name"] = "scratch", ["emptyDir"] = new JsonObject { ["medium"] = "Memory", ["sizeLimit"] = "4Mi" } }),
        };
        var created = await Host.CreatePodAsync("inputs", spec, new JsonObject { ["app"] = "inputs", ["tier"] = "test" });
        var uid = Uid(created);

        var log = await LogAsync(created, "writer", l => l.Contains("stdout F done"), "the writer's output");
        var pod = await WaitPodAsync("inputs", p => p["status"]?["podIP"] is not null, TimeSpan.FromSeconds(30), "the pod's IP");
        foreach (var line in new[] { "CFG=hello", "PASSWORD=s3cret", "NAME=inputs", $"IP={pod["status"]!["podIP"]}", "MEM_MI=64", "EXPANDED=inputs",
            "FILE=hello", "SECRET=s3cret", "MODE=400", "LABEL app=\"inputs\"", "LABEL tier=\"test\"", "SCRATCH=tmpfs" })
            Assert.Contains("stdout F " + line + "\n", log);
        await LogAsync(created, "reader", l => l.Contains("stdout F SHARED=from-writer\n"), "the reader sees the writer's file in the shared emptyDir");

        var podDir = Path.Combine(Host.PodVolumesDir, uid);
        var scratch = Path.Combine(podDir, "volumes", "kubernetes.io~empty-dir", "scratch");
        Assert.True(Tmpfs.IsMountPoint(scratch), scratch);
        Assert.Equal("hello", File.ReadAllText(Path.Combine(podDir, "volumes", "kubernetes.io~configmap", "cfg", "greeting")));

        (await Host.Kubectl.RunAsync("delete", "pod", "inputs", "--wait=false")).Ok();
        await Poll.UntilAsync(() => Task.FromResult(Directory.Exists(podDir)), e => !e, TimeSpan.FromSeconds(30), $"{podDir} removed");
        Assert.Empty(Tmpfs.MountsUnder(Host.PodVolumesDir));
        Assert.Empty(await Host.SandboxesAsync(uid));
    }

    [Fact]
    public async Task ConfigMapUpdate_ReachesTheMountedFileOfARunningContainer_ButNotASubPathMount()
    {
        await Host.StartAsync();
        await CreateConfigMapAsync("live-cfg", "greeting", "before");
        var spec = new JsonObject
        {
            ["terminationGracePeriodSeconds"] = 1,
            ["containers"] = new JsonArray(Container("main",
                "while true; do echo \"NOW=`cat /etc/cfg/greeting` SUB=`cat /etc/sub/greeting`\"; sleep 1; done",
                Mount("cfg", "/etc/cfg"), Mount("cfg", "/etc/sub/greeting", subPath: "greeting"))),
            ["volumes"] = new JsonArray(new JsonObject { ["name"] = "cfg", ["configMap"] = new JsonObject { ["name"] = "live-cfg" } }),
        };
        var created = await Host.CreatePodAsync("live", spec);
        await LogAsync(created, "main", l => l.Contains("stdout F NOW=before SUB=before\n"), "the first value");
        var cm = (await Host.Api.GetAsync("/api/v1/namespaces/default/configmaps/live-cfg", Ct))!;
        cm["data"]!["greeting"] = "after";
        await Host.Api.ReplaceAsync("/api/v1/namespaces/default/configmaps/live-cfg", cm, Ct);
        var updated = DateTime.UtcNow;
        // Within a resync (10 s) or two; upstream allows up to its sync period plus the cache's TTL (about a minute).
        await LogAsync(created, "main", l => l.Contains("stdout F NOW=after SUB=before\n"), "the new value in the running container");
        Assert.True(DateTime.UtcNow - updated < TimeSpan.FromSeconds(30), $"took {DateTime.UtcNow - updated}");
        (await Host.Kubectl.RunAsync("delete", "pod", "live", "--wait=false")).Ok();
        await Poll.UntilAsync(() => Task.FromResult(Directory.Exists(Path.Combine(Host.PodVolumesDir, Uid(created)))), e => !e, TimeSpan.FromSeconds(30), "volumes removed");
    }

    [Fact]
    public async Task MissingConfigMap_IsCreateContainerConfigError_UntilItExists()
    {
        await Host.StartAsync();
        var main = Container("main", "echo \"GOT=$VALUE\"; sleep 3600");
        main["env"] = new JsonArray(new JsonObject
        {
            ["name"] = "VALUE",
            ["valueFrom"] = new JsonObject { ["configMapKeyRef"] = new JsonObject { ["name"] = "late-cfg", ["key"] = "value" } },
        });
        var created = await Host.CreatePodAsync("late", new JsonObject { ["terminationGracePeriodSeconds"] = 1, ["containers"] = new JsonArray(main) });
        var pod = await WaitPodAsync("late", p => Waiting(p)?["reason"]?.GetValue<string>() == "CreateContainerConfigError", TimeSpan.FromSeconds(60), "CreateContainerConfigError");
        Assert.Equal("configmap \"late-cfg\" not found", Waiting(pod)!["message"]!.GetValue<string>());
        var row = (await Host.Kubectl.RunAsync("get", "pod", "late", "--no-headers")).Ok().Out;
        Assert.Matches(@"^late\s+0/1\s+CreateContainerConfigError\s+0\s", row);

        await CreateConfigMapAsync("late-cfg", "value", "arrived");
        await LogAsync(created, "main", l => l.Contains("stdout F GOT=arrived\n"), "the container started once the ConfigMap exists");
        (await Host.Kubectl.RunAsync("delete", "pod", "late", "--wait=false")).Ok();
    }
}
