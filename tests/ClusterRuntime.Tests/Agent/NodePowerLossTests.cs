// A node that loses power: the next boot's kubelet runs its pods again, in new sandboxes (the two-VM site's rejoin).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Containerd;
using Appliance.ClusterRuntime.Agent.Kubelet.Volumes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "External")]
public sealed class NodePowerLossTests(KubeletHost.Fixture node) : IClassFixture<KubeletHost.Fixture>
{
    KubeletHost Host => node.Host;

    static JsonObject? Status0(JsonObject pod) => pod["status"]?["containerStatuses"]?[0] as JsonObject;

    /// <summary>
    /// The power comes back: the state containerd left (its shims' bundles, with the files a power loss empties) is
    /// cleared as the next boot's containerd starts, the old sandbox is NOTREADY and removed, and the pod runs again in
    /// a new sandbox and container. (What made the two-VM site's agent fail after its plug was pulled — image layers
    /// unpacked shortly before and never written back — is the kubelet's sync after CreateContainer; only a real power
    /// loss shows it, in TwoNodeSiteTests.)
    /// </summary>
    [Fact]
    public async Task AfterAPowerLoss_TheNextBootRunsThePodAgain_InANewSandbox()
    {
        await Host.StartAsync();
        var created = await Host.CreatePodAsync("survivor", new JsonObject
        {
            ["terminationGracePeriodSeconds"] = 2,
            ["containers"] = new JsonArray(new JsonObject
            {
                ["name"] = "main", ["image"] = ContainerdHost.Busybox, ["command"] = new JsonArray("sh", "-c", "sleep 3600"),
            }),
        });
        var uid = created["metadata"]!["uid"]!.GetValue<string>();
        var before = await Host.WaitPodAsync("survivor", p => Status0(p)?["state"]?["running"] is not null, TimeSpan.FromSeconds(60), "pod survivor running");
        var oldContainer = Status0(before)!["containerID"]!.GetValue<string>();
        var oldStart = Status0(before)!["state"]!["running"]!["startedAt"]!.GetValue<DateTimeOffset>();
        var oldSandbox = Assert.Single(await Host.SandboxesAsync(uid)).Id;

        await Host.PowerLossAsync();

        var after = (await Poll.UntilAsync(async () => await Host.PodAsync("default", "survivor") ?? new JsonObject(),
            p => Status0(p)?["state"]?["running"] is not null && Status0(p)!["containerID"]!.GetValue<string>() != oldContainer,
            TimeSpan.FromSeconds(90), "pod survivor running in a new container", p => p.ToJsonString() + "\ncontainerd:\n" + string.Join('\n', Host.Containerd.Log)))!;
        Assert.True(Status0(after)!["ready"]!.GetValue<bool>());
        Assert.True(Status0(after)!["state"]!["running"]!["startedAt"]!.GetValue<DateTimeOffset>() >= oldStart);
        var sandbox = Assert.Single(await Host.SandboxesAsync(uid));
        Assert.NotEqual(oldSandbox, sandbox.Id);
        Assert.Equal(Appliance.ClusterRuntime.Agent.Cri.V1.PodSandboxState.SandboxReady, sandbox.State);
        Assert.Contains(Host.Containerd.Log, l => l.Contains("was left by an earlier boot"));
    }
}

/// <summary>The boot check of containerd's state directory on its own (no containerd).</summary>
public sealed class ContainerdStateTests
{
    [Fact]
    public void StateOfAnEarlierBoot_IsEmptied_ThisBootsIsKept()
    {
        using var dir = new TempDir("cstate-");
        var config = new ContainerdConfig(dir["c"], dir["cni"]) { BootId = "boot-2" };
        Directory.CreateDirectory(config.StateDir + "/io.containerd.runtime.v2.task/k8s.io/abc");
        File.WriteAllText(config.StateDir + "/io.containerd.runtime.v2.task/k8s.io/abc/address", "unix:///run/containerd/s/x");
        File.CreateSymbolicLink(config.StateDir + "/link", "/etc");
        File.WriteAllText(config.BootIdPath, "boot-1\n");

        Assert.Equal(3, config.ForgetEarlierBoot());
        Assert.Equal(["boot_id"], Directory.EnumerateFileSystemEntries(config.StateDir).Select(Path.GetFileName));
        Assert.Equal("boot-2\n", File.ReadAllText(config.BootIdPath));
        Assert.True(Directory.Exists("/etc"));

        Directory.CreateDirectory(config.StateDir + "/io.containerd.grpc.v1.cri");
        Assert.Equal(0, config.ForgetEarlierBoot());
        Assert.True(Directory.Exists(config.StateDir + "/io.containerd.grpc.v1.cri"));
    }

    [Fact]
    public void AStateDirectoryWithoutARecordedBoot_IsEmptied()
    {
        using var dir = new TempDir("cstate-");
        var config = new ContainerdConfig(dir["c"], dir["cni"]) { BootId = "boot-1" };
        Directory.CreateDirectory(config.StateDir + "/io.containerd.grpc.v1.cri/sandboxes");
        Assert.Equal(1, config.ForgetEarlierBoot());
        Assert.Equal("boot-1\n", File.ReadAllText(config.BootIdPath));
    }

    [Fact]
    public void AStateDirectoryWithMountsUnderIt_IsThisBoots_AndKept()
    {
        if (Environment.UserName != "root") Assert.Skip("mounting a tmpfs needs root");
        using var dir = new TempDir("cstate-");
        var config = new ContainerdConfig(dir["c"], dir["cni"]) { BootId = "boot-2" };
        var shm = Directory.CreateDirectory(config.StateDir + "/io.containerd.grpc.v1.cri/sandboxes/abc/shm").FullName;
        File.WriteAllText(config.BootIdPath, "boot-1\n");
        Tmpfs.Mount(shm, 1 << 20);
        try
        {
            Assert.Equal(0, config.ForgetEarlierBoot());
            Assert.True(Directory.Exists(shm));
            Assert.Equal("boot-2\n", File.ReadAllText(config.BootIdPath));
        }
        finally
        {
            Tmpfs.Unmount(shm);
        }
    }
}
