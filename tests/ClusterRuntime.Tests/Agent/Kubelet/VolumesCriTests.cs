// Env and volume mounts given to a real containerd over CRI: the container sees them, and a ConfigMap update reaches it.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Appliance.ClusterRuntime.Agent.Kubelet.Env;
using Appliance.ClusterRuntime.Agent.Kubelet.Volumes;

namespace Appliance.ClusterRuntime.Tests.Agent.Kubelet;

[Trait("Category", "External")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class VolumesCriTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Container_SeesEnv_ReadOnlyConfigMap_Tmpfs_AndTheUpdateAfterSync()
    {
        await using var host = await ContainerdHost.StartAsync();
        var objects = new MemoryPodObjects().ConfigMap("cfg", ("greeting", "hello"));
        var uid = Guid.NewGuid().ToString();
        var pod = JsonNode.Parse($$$$"""
            {"metadata":{"name":"vol","namespace":"default","uid":"{{{{uid}}}}"},
             "spec":{"volumes":[{"name":"conf","configMap":{"name":"cfg"}},{"name":"cache","emptyDir":{"medium":"Memory","sizeLimit":"8Mi"}}],
               "containers":[{"name":"main","env":[{"name":"G","valueFrom":{"configMapKeyRef":{"name":"cfg","key":"greeting"}}},{"name":"MSG","value":"$(G) world"}],
                 "volumeMounts":[{"name":"conf","mountPath":"/etc/conf"},{"name":"cache","mountPath":"/cache"}]}]}}
            """)!.AsObject();
        var container = pod["spec"]!["containers"]![0]!.AsObject();
        var volumes = new PodVolumes(host["k"], objects);
        await volumes.SetUpAsync(pod, PodFacts.None, Ct);
        var env = await new EnvResolver(objects).ResolveAsync(pod, container, PodFacts.None, Ct);

        var podConfig = new PodSandboxConfig
        {
            Metadata = new() { Name = "vol", Namespace = "default", Uid = uid },
            LogDirectory = host[$"pods/{uid}"],
            Linux = new() { SecurityContext = new() { NamespaceOptions = new() { Network = NamespaceMode.Node } } },
        };
        Directory.CreateDirectory(podConfig.LogDirectory);
        var sandbox = (await host.Cri.Runtime.RunPodSandboxAsync(new() { Config = podConfig }, cancellationToken: Ct)).PodSandboxId;
        var config = new ContainerConfig
        {
            Metadata = new() { Name = "main" },
            Image = new() { Image = ContainerdHost.Busybox },
            Command = { "sh", "-c", "sleep 600" },
            LogPath = "main/0.log",
        };
        config.Envs.AddRange(env.ToCri());
        config.Mounts.AddRange(volumes.MountsFor(pod, container, env.Env).Select(m => m.ToCri()));
        var id = (await host.Cri.Runtime.CreateContainerAsync(new() { PodSandboxId = sandbox, SandboxConfig = podConfig, Config = config }, cancellationToken: Ct)).ContainerId;
        await host.Cri.Runtime.StartContainerAsync(new() { ContainerId = id }, cancellationToken: Ct);

        async Task<(int Code, string Out)> Exec(string script)
        {
            var r = await host.Cri.Runtime.ExecSyncAsync(new() { ContainerId = id, Cmd = { "sh", "-c", script }, Timeout = 10 }, cancellationToken: Ct);
            return (r.ExitCode, r.Stdout.ToStringUtf8().Trim() + r.Stderr.ToStringUtf8().Trim());
        }
        Assert.Equal((0, "hello world"), await Exec("echo $MSG"));
        Assert.Equal((0, "hello"), await Exec("cat /etc/conf/greeting"));
        Assert.NotEqual(0, (await Exec("touch /etc/conf/x")).Code);
        Assert.Equal((0, "tmpfs"), await Exec("awk '$2==\"/cache\"{print $3}' /proc/mounts"));
        Assert.Equal(0, (await Exec("echo data > /cache/f && cat /cache/f")).Code);

        objects.ConfigMap("cfg", ("greeting", "bonjour"));
        Assert.Equal(["conf"], await volumes.SyncAsync(pod, PodFacts.None, Ct));
        Assert.Equal((0, "bonjour"), await Exec("cat /etc/conf/greeting"));

        await host.Cri.Runtime.StopPodSandboxAsync(new() { PodSandboxId = sandbox }, cancellationToken: Ct);
        await host.Cri.Runtime.RemovePodSandboxAsync(new() { PodSandboxId = sandbox }, cancellationToken: Ct);
        volumes.TearDown(uid);
        Assert.False(Directory.Exists(volumes.PodDir(uid)));
    }
}
