// Test support: a real containerd (through ContainerdSupervisor) in a network namespace and a temp dir of its own.
using Appliance.ClusterRuntime.Agent.Containerd;
using Appliance.ClusterRuntime.Agent.Cri;
using Appliance.ClusterRuntime.Agent.Cri.V1;

namespace Appliance.ClusterRuntime.Tests.Agent;

/// <summary>
/// containerd 1.6 started by <see cref="ContainerdSupervisor"/> inside a network namespace this creates (and deletes),
/// with its root and socket in a <see cref="TempDir"/>, the pause image and the busybox fixture imported with
/// <c>ctr images import</c>. Skips the test when containerd, runc or root is missing. Dispose removes every pod
/// sandbox, stops containerd, deletes the namespace and the directory.
/// </summary>
internal sealed class ContainerdHost : IAsyncDisposable
{
    /// <summary>The busybox fixture image (tests/fixtures/README.md), linux/amd64, arm64 and arm/v7.</summary>
    public const string Busybox = "example.local/fixtures/busybox-multi:1.35";

    readonly TempDir _dir;
    readonly ContainerdConfig _config;

    /// <summary>The network namespace containerd runs in.</summary>
    public string NetNs { get; }

    /// <summary>The supervisor (its Cri, SocketPath, ProcessId, Restarts).</summary>
    public ContainerdSupervisor Supervisor { get; private set; }

    /// <summary>The CRI client.</summary>
    public CriConnection Cri => Supervisor.Cri;

    /// <summary>A path inside the host's temp dir (pod log directories go here).</summary>
    public string this[string relative] => _dir[relative];

    /// <summary>The lines the supervisor logged.</summary>
    public List<string> Log { get; }

    ContainerdHost(TempDir dir, ContainerdConfig config, string netns, ContainerdSupervisor supervisor, List<string> log)
    {
        _dir = dir;
        _config = config;
        Log = log;
        NetNs = netns;
        Supervisor = supervisor;
    }

    /// <summary>Starts containerd and waits for CRI; imports the pause and busybox images unless
    /// <paramref name="importImages"/> is false (the image import tests bring their own).</summary>
    public static async Task<ContainerdHost> StartAsync(bool importImages = true)
    {
        foreach (var tool in new[] { "/usr/bin/containerd", "/usr/bin/ctr", "/usr/bin/nsenter" })
            if (!File.Exists(tool)) Assert.Skip($"{tool} is not installed (.ci/packages.d/agent.txt)");
        if (!File.Exists("/usr/sbin/runc") && !File.Exists("/usr/bin/runc")) Assert.Skip("runc is not installed (.ci/packages.d/agent.txt)");
        if (Environment.UserName != "root") Assert.Skip("containerd needs root");
        string[] images = importImages ? [PauseImage.Archive, Path.Combine(BusyboxFixtures.Dir, "busybox-multi.oci.tar")] : [];

        var ct = TestContext.Current.CancellationToken;
        var netns = "cri-" + Guid.NewGuid().ToString("n")[..8];
        (await ProcessRunner.RunAsync("ip", ["netns", "add", netns], ct: ct)).Ok();
        var dir = new TempDir("cri-");
        ContainerdHost? host = null;
        try
        {
            (await ProcessRunner.RunAsync("ip", ["-n", netns, "link", "set", "lo", "up"], ct: ct)).Ok();
            var config = new ContainerdConfig(dir["c"], dir["cni"]);
            var log = new List<string>();
            // nsenter enters the network namespace only; `ip netns exec` would also give every start a fresh mount
            // namespace, so a restarted containerd would not see the mounts of the one before.
            var supervisor = Launch(config, netns, log);
            host = new ContainerdHost(dir, config, netns, supervisor, log);
            var ready = supervisor.Ready.WaitAsync(TimeSpan.FromSeconds(60), ct);
            try { await ready; }
            catch (TimeoutException)
            {
                Assert.Fail($"containerd not ready in 60 s; log:\n{Tail(config.LogPath)}");
            }
            foreach (var archive in images)
                (await ProcessRunner.RunAsync("ctr", ["-a", supervisor.SocketPath, "-n", "k8s.io", "images", "import", archive], ct: ct)).Ok();
            return host;
        }
        catch
        {
            if (host is not null) await host.DisposeAsync();
            else
            {
                await ProcessRunner.RunAsync("ip", ["netns", "delete", netns]);
                dir.Dispose();
            }
            throw;
        }
    }

    static ContainerdSupervisor Launch(ContainerdConfig config, string netns, List<string> log) =>
        ContainerdSupervisor.Start(config, ["/usr/bin/nsenter", $"--net=/run/netns/{netns}"],
            log: line => { lock (log) log.Add(line); });

    /// <summary>What an agent restart does: disposes the supervisor (SIGTERM to containerd), then starts a new one on
    /// the same directory and waits until CRI answers.</summary>
    public async Task RestartSupervisorAsync()
    {
        await Supervisor.DisposeAsync();
        Supervisor = Launch(_config, NetNs, Log);
        await Supervisor.Ready.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
    }

    /// <summary>
    /// What a power loss and the next boot leave containerd with: containerd stops, its shims and every task's process
    /// are killed (SIGKILL), and what a reboot clears goes (the mounts under its state directory, runc's state under
    /// /run, the tasks' cgroups); its state directory is marked as another boot's. Then a new supervisor starts on the
    /// same directory, as the next boot's agent does, and CRI answers.
    /// </summary>
    public async Task PowerLossAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        var tasks = await TasksAsync(Supervisor.SocketPath);
        var shims = Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit))
            .Where(pid => Cmdline(pid!) is var c && c.Contains("containerd-shim") && c.Contains(Supervisor.SocketPath)).Select(pid => pid!).ToList();
        Assert.NotEmpty(tasks);
        Assert.NotEmpty(shims);
        await Supervisor.DisposeAsync();
        foreach (var pid in shims.Concat(tasks.Select(t => t.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture))))
            await ProcessRunner.RunAsync("kill", ["-KILL", pid], ct: ct);
        foreach (var mount in Appliance.ClusterRuntime.Agent.Kubelet.Volumes.Tmpfs.MountsUnder(_config.StateDir))
            (await ProcessRunner.RunAsync("umount", ["-l", mount], ct: ct)).Ok();
        foreach (var (id, _, _) in tasks)
        {
            var runc = Path.Combine("/run/containerd/runc/k8s.io", id);
            if (Directory.Exists(runc)) Directory.Delete(runc, recursive: true);
            // Empty once the killed processes are reaped.
            foreach (var cgroup in Directory.EnumerateDirectories("/sys/fs/cgroup").Select(c => Path.Combine(c, "k8s.io", id)).Where(Directory.Exists))
                await Support.Poll.UntilAsync(() => Task.FromResult(TryRemoveDirectory(cgroup)), gone => gone, TimeSpan.FromSeconds(10), $"{cgroup} removed");
        }
        // What the VM's power loss left on its disk: the shims' bundles with their files empty (written shortly before
        // and never flushed; containerd then failed to clean them up with "unexpected end of JSON input").
        // Regular files only: a bundle's `log` is a FIFO, and opening it would wait for a reader.
        (await ProcessRunner.RunAsync("find", [Path.Combine(_config.StateDir, "io.containerd.runtime.v2.task", "k8s.io"), "-type", "f",
            "-exec", "truncate", "-s", "0", "{}", "+"], ct: ct)).Ok();
        File.WriteAllText(_config.BootIdPath, "an-earlier-boot\n");
        Supervisor = Launch(_config, NetNs, Log);
        await Supervisor.Ready.WaitAsync(TimeSpan.FromSeconds(60), ct);
    }

    /// <summary>The k8s.io tasks of the containerd at <paramref name="socket"/>, from <c>ctr task ls</c> (TASK PID STATUS).</summary>
    public static async Task<List<(string Id, int Pid, string Status)>> TasksAsync(string socket)
    {
        var table = (await ProcessRunner.RunAsync("ctr", ["-a", socket, "-n", "k8s.io", "task", "ls"], ct: TestContext.Current.CancellationToken)).Ok().Out;
        return [.. table.Split('\n').Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(f => f.Length >= 3)
            .Select(f => (f[0], int.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture), f[2]))];
    }

    static string Cmdline(string pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }

    static bool TryRemoveDirectory(string path)
    {
        try { Directory.Delete(path); return true; }
        catch (IOException) { return !Directory.Exists(path); }
    }

    /// <summary>The end of containerd's log (for failure messages).</summary>
    public static string Tail(string path) =>
        File.Exists(path) ? string.Join('\n', File.ReadLines(path).TakeLast(30)) : "(no log)";

    /// <summary>
    /// Stops a node process (a server with its embedded agent, or an agent) that ran containerd under
    /// <paramref name="containerdDir"/> in <paramref name="netns"/>: SIGTERM (its agent stops containerd alone, so the
    /// containers live on), then a containerd of the test's own on that directory removes every sandbox, and mounts
    /// left under the node's data dir (the parent of DIR/containerd's parent) are undone.
    /// </summary>
    public static async Task StopNodeAsync(ChildProcess? node, string containerdDir, string netns)
    {
        if (node is not null)
        {
            if (!node.HasExited) await ProcessRunner.RunAsync("kill", ["-TERM", node.Id.ToString()]);
            if (!await node.WaitUntilAsync(p => p.HasExited, TimeSpan.FromSeconds(30))) node.Kill();
            TestContext.Current.TestOutputHelper?.WriteLine($"exit {node.ExitCode}; the log ends:\n{string.Join('\n', (node.Out + node.Error).Split('\n').TakeLast(40))}");
            await node.DisposeAsync();
        }
        var config = new ContainerdConfig(containerdDir, Path.Combine(Path.GetDirectoryName(containerdDir)!, "cni", "net.d"));
        if (File.Exists(config.ConfigPath))
        {
            await using var containerd = ContainerdSupervisor.Start(config, ["/usr/bin/nsenter", $"--net=/run/netns/{netns}"]);
            try
            {
                await containerd.Ready.WaitAsync(TimeSpan.FromSeconds(60));
                await RemoveSandboxesAsync(containerd.Cri);
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException)
            {
                TestContext.Current.TestOutputHelper?.WriteLine($"cleanup containerd: {e.Message}");
            }
        }
        var root = Path.GetDirectoryName(Path.GetDirectoryName(containerdDir))!;
        foreach (var mount in File.ReadAllLines("/proc/mounts").Select(l => l.Split(' ')[1]).Where(m => m.StartsWith(root + "/")).Reverse())
            await ProcessRunner.RunAsync("umount", ["-l", mount]);
    }

    /// <summary>Stops and removes every pod sandbox (and so its containers) of <paramref name="cri"/>; best effort.</summary>
    public static async Task RemoveSandboxesAsync(CriConnection cri)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var pods = await cri.Runtime.ListPodSandboxAsync(new ListPodSandboxRequest(), cancellationToken: cts.Token);
            foreach (var pod in pods.Items)
            {
                await cri.Runtime.StopPodSandboxAsync(new() { PodSandboxId = pod.Id }, cancellationToken: cts.Token);
                await cri.Runtime.RemovePodSandboxAsync(new() { PodSandboxId = pod.Id }, cancellationToken: cts.Token);
            }
        }
        catch (Exception)
        {
            // Best effort: containerd may be the thing that failed.
        }
    }

    /// <summary>Removes every pod sandbox (and so its containers), stops containerd, deletes the namespace and dir.</summary>
    public async ValueTask DisposeAsync()
    {
        await RemoveSandboxesAsync(Cri);
        await Supervisor.DisposeAsync();
        await ProcessRunner.RunAsync("ip", ["netns", "delete", NetNs]);
        _dir.Dispose();
    }
}
