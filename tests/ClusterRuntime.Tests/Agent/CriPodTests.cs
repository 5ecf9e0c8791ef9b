// A pod through CRI on a real containerd: sandbox, container, CRI log file, ExecSync, teardown; and containerd restarts.
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Appliance.ClusterRuntime.Agent.Containerd;
using Appliance.ClusterRuntime.Agent.Cri;
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

public sealed class CriPodTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RunsAPodThroughCriAndTearsItDown()
    {
        await using var host = await ContainerdHost.StartAsync();

        var version = await host.Cri.VersionAsync(Ct);
        Assert.Equal("containerd", version.RuntimeName);
        Assert.StartsWith("1.6.20", version.RuntimeVersion);
        Assert.Equal("v1", version.RuntimeApiVersion);

        // Attach mode (--container-runtime-endpoint): ready on the running containerd; disposing leaves it running.
        var containerd = host.Supervisor.ProcessId;
        await using (var attached = ContainerdSupervisor.Attach("unix://" + host.Supervisor.SocketPath))
        {
            await attached.Ready.WaitAsync(TimeSpan.FromSeconds(10), Ct);
            Assert.Null(attached.ProcessId);
            Assert.Equal(version.RuntimeVersion, (await attached.Cri.VersionAsync(Ct)).RuntimeVersion);
        }
        Assert.Equal(containerd, host.Supervisor.ProcessId);

        var (sandbox, container, podConfig) = await RunBusyboxAsync(host, "hello-pod");
        var status = (await host.Cri.Runtime.ContainerStatusAsync(new() { ContainerId = container }, cancellationToken: Ct)).Status;
        Assert.Equal(ContainerState.ContainerRunning, status.State);

        // CRI log format: RFC3339Nano time, stream, P(artial)/F(ull), the text.
        var logPath = Path.Combine(podConfig.LogDirectory, "main", "0.log");
        var line = new Regex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) stdout F hello$");
        await Poll.UntilAsync(() => Task.FromResult(File.Exists(logPath) ? File.ReadAllText(logPath) : "(no file)"),
            text => text.Split('\n').Any(line.IsMatch), TimeSpan.FromSeconds(10), $"'hello' in {logPath}");

        var exec = await host.Cri.Runtime.ExecSyncAsync(new() { ContainerId = container, Cmd = { "sh", "-c", "echo ok" }, Timeout = 10 }, cancellationToken: Ct);
        Assert.Equal(0, exec.ExitCode);
        Assert.Equal("ok\n", exec.Stdout.ToStringUtf8());
        var failing = await host.Cri.Runtime.ExecSyncAsync(new() { ContainerId = container, Cmd = { "sh", "-c", "exit 3" }, Timeout = 10 }, cancellationToken: Ct);
        Assert.Equal(3, failing.ExitCode);

        await host.Cri.Runtime.StopContainerAsync(new() { ContainerId = container, Timeout = 2 }, cancellationToken: Ct);
        var stopped = (await host.Cri.Runtime.ContainerStatusAsync(new() { ContainerId = container }, cancellationToken: Ct)).Status;
        Assert.Equal(ContainerState.ContainerExited, stopped.State);
        await host.Cri.Runtime.RemoveContainerAsync(new() { ContainerId = container }, cancellationToken: Ct);
        await host.Cri.Runtime.StopPodSandboxAsync(new() { PodSandboxId = sandbox }, cancellationToken: Ct);
        await host.Cri.Runtime.RemovePodSandboxAsync(new() { PodSandboxId = sandbox }, cancellationToken: Ct);
        Assert.Empty((await host.Cri.Runtime.ListContainersAsync(new(), cancellationToken: Ct)).Containers);
        Assert.Empty((await host.Cri.Runtime.ListPodSandboxAsync(new(), cancellationToken: Ct)).Items);
    }

    [Fact]
    public async Task KilledContainerdIsRestartedAndTheContainerKeepsRunning()
    {
        await using var host = await ContainerdHost.StartAsync();
        var (_, container, _) = await RunBusyboxAsync(host, "survivor");
        var pidBefore = await ContainerPidAsync(host, container);

        var containerd = host.Supervisor.ProcessId ?? throw new InvalidOperationException("containerd is not running");
        System.Diagnostics.Process.GetProcessById(containerd).Kill(entireProcessTree: false);
        await Poll.UntilAsync(() => Task.FromResult((host.Supervisor.Restarts, host.Supervisor.ProcessId)),
            s => s.Restarts == 1 && s.ProcessId is { } p && p != containerd, TimeSpan.FromSeconds(20), "containerd restarted");
        await host.Supervisor.WaitReadyAsync(TimeSpan.FromSeconds(30), Ct);

        var status = (await host.Cri.Runtime.ContainerStatusAsync(new() { ContainerId = container }, cancellationToken: Ct)).Status;
        Assert.Equal(ContainerState.ContainerRunning, status.State);
        Assert.Equal(pidBefore, await ContainerPidAsync(host, container));
        Assert.Contains(host.Log, l => l.Contains($"containerd (pid {containerd}) exited", StringComparison.Ordinal));
        var exec = await host.Cri.Runtime.ExecSyncAsync(new() { ContainerId = container, Cmd = { "sh", "-c", "echo ok" }, Timeout = 10 }, cancellationToken: Ct);
        Assert.Equal("ok\n", exec.Stdout.ToStringUtf8());
    }

    [Fact]
    public async Task ContainersOutliveTheSupervisorAndAreFoundByTheNextOne()
    {
        await using var host = await ContainerdHost.StartAsync();
        var (_, container, _) = await RunBusyboxAsync(host, "agent-restart");
        var pid = await ContainerPidAsync(host, container);
        var shim = Stat(pid).Ppid;
        var containerd = host.Supervisor.ProcessId!.Value;
        // The shim is in a process group of its own: neither ours nor containerd's.
        Assert.NotEqual(Stat(Environment.ProcessId).Pgrp, Stat(shim).Pgrp);
        Assert.NotEqual(Stat(containerd).Pgrp, Stat(shim).Pgrp);

        await host.RestartSupervisorAsync();

        Assert.NotEqual(containerd, host.Supervisor.ProcessId);
        Assert.True(Directory.Exists($"/proc/{shim}"), $"shim {shim} died with the supervisor");
        var status = (await host.Cri.Runtime.ContainerStatusAsync(new() { ContainerId = container }, cancellationToken: Ct)).Status;
        Assert.Equal(ContainerState.ContainerRunning, status.State);
        Assert.Equal(pid, await ContainerPidAsync(host, container));
    }

    /// <summary>Parent pid and process group of <paramref name="pid"/> (/proc/PID/stat fields 4 and 5).</summary>
    static (int Ppid, int Pgrp) Stat(int pid)
    {
        var text = File.ReadAllText($"/proc/{pid}/stat");
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return (int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task AMissingSocketIsNamedInTheError()
    {
        using var dir = new TempDir("cri-");
        using var cri = new CriConnection(dir["none.sock"]);
        var e = await Assert.ThrowsAsync<CriUnavailableException>(() => cri.VersionAsync(Ct));
        Assert.Contains(dir["none.sock"], e.Message);
        Assert.Contains("does not exist", e.Message);
        Assert.Throws<ArgumentException>(() => new CriConnection("tcp://127.0.0.1:1"));
    }

    /// <summary>A host-network sandbox (no hostname: the UTS namespace is the node's) with the pause image and busybox running `echo hello; sleep 600`.</summary>
    static async Task<(string Sandbox, string Container, PodSandboxConfig Config)> RunBusyboxAsync(ContainerdHost host, string name)
    {
        var uid = Guid.NewGuid().ToString();
        var podConfig = new PodSandboxConfig
        {
            Metadata = new() { Name = name, Namespace = "default", Uid = uid },
            LogDirectory = host[$"pods/{uid}"],
            Linux = new() { SecurityContext = new() { NamespaceOptions = new() { Network = NamespaceMode.Node } } },
        };
        Directory.CreateDirectory(podConfig.LogDirectory);
        var sandbox = (await host.Cri.Runtime.RunPodSandboxAsync(new() { Config = podConfig }, cancellationToken: Ct)).PodSandboxId;
        var created = await host.Cri.Runtime.CreateContainerAsync(new()
        {
            PodSandboxId = sandbox,
            SandboxConfig = podConfig,
            Config = new()
            {
                Metadata = new() { Name = "main" },
                Image = new() { Image = ContainerdHost.Busybox },
                Command = { "sh", "-c", "echo hello; sleep 600" },
                LogPath = "main/0.log",
            },
        }, cancellationToken: Ct);
        await host.Cri.Runtime.StartContainerAsync(new() { ContainerId = created.ContainerId }, cancellationToken: Ct);
        return (sandbox, created.ContainerId, podConfig);
    }

    /// <summary>The container's init pid, from ContainerStatus verbose info.</summary>
    static async Task<int> ContainerPidAsync(ContainerdHost host, string container)
    {
        var r = await host.Cri.Runtime.ContainerStatusAsync(new() { ContainerId = container, Verbose = true }, cancellationToken: Ct);
        return JsonNode.Parse(r.Info["info"])!["pid"]!.GetValue<int>();
    }
}
