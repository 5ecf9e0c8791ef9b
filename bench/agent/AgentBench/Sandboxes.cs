// The floor under the agent's pod start: N busybox pods through containerd + runc + CNI alone, with the kubelet's configs.
using System.Diagnostics;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Containerd;
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Appliance.ClusterRuntime.Agent.Kubelet;

namespace Appliance.Bench.Agent;

/// <summary>
/// Starts containerd (the agent's <see cref="ContainerdSupervisor"/> and <see cref="ContainerdConfig"/>) in a network
/// namespace of its own, imports the pause and busybox archives with ctr, writes the agent's CNI conflist
/// (<see cref="CniConfig"/>), then runs <c>pods</c> pods as the kubelet's first sync does (RunPodSandbox,
/// PodSandboxStatus, ImageStatus, CreateContainer, StartContainer with <see cref="CriConfigs"/>' configs), at most
/// <c>parallel</c> at once, and prints per-phase times. No API server, no agent: what is left is containerd's, runc's
/// and the CNI plugins' own cost on this machine.
/// </summary>
static class Sandboxes
{
    const string Busybox = "example.local/fixtures/busybox:1.35";

    public static async Task<int> RunAsync(string pause, string busybox, int pods, int parallel, bool ipMasq)
    {
        var ns = $"agbs-{Environment.ProcessId}";
        var dir = Directory.CreateTempSubdirectory("agbs-").FullName;
        Run("ip", ["netns", "add", ns]);
        ContainerdSupervisor? containerd = null;
        try
        {
            Run("ip", ["-n", ns, "link", "set", "lo", "up"]);
            var config = new ContainerdConfig(Path.Combine(dir, "c"), Path.Combine(dir, "cni"));
            containerd = ContainerdSupervisor.Start(config, ["/usr/bin/nsenter", $"--net=/run/netns/{ns}"]);
            await containerd.Ready.WaitAsync(TimeSpan.FromSeconds(60));
            foreach (var archive in new[] { pause, busybox })
                Run("ctr", ["-a", containerd.SocketPath, "-n", "k8s.io", "images", "import", "--all-platforms", archive]);
            var conflist = JsonNode.Parse(CniConfig.Render("10.42.0.0/24"))!;
            conflist["plugins"]![0]!["ipMasq"] = ipMasq;
            Directory.CreateDirectory(config.CniConfDir);
            File.WriteAllText(Path.Combine(config.CniConfDir, CniConfig.FileName), conflist.ToJsonString());
            // containerd picks the conflist up through inotify; NetworkReady says when.
            for (int i = 0; i < 100 && !await NetworkReadyAsync(containerd); i++) await Task.Delay(100);

            var cri = containerd.Cri;
            var gate = new SemaphoreSlim(parallel);
            var busyBefore = BusyJiffies();
            var wall = Stopwatch.StartNew();
            var phases = await Task.WhenAll(Enumerable.Range(1, pods).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    var pod = Pod(i);
                    var t = Stopwatch.StartNew();
                    var times = new double[5];
                    var sandboxConfig = CriConfigs.Sandbox(pod, Path.Combine(dir, "pods"), 0);
                    Directory.CreateDirectory(sandboxConfig.LogDirectory);
                    var id = (await cri.Runtime.RunPodSandboxAsync(new() { Config = sandboxConfig })).PodSandboxId;
                    times[0] = t.Elapsed.TotalSeconds;
                    await cri.Runtime.PodSandboxStatusAsync(new() { PodSandboxId = id });
                    await cri.Images.ImageStatusAsync(new() { Image = new ImageSpec { Image = Busybox } });
                    var spec = (JsonObject)pod["spec"]!["containers"]![0]!;
                    var containerConfig = CriConfigs.Container(pod, spec, 0, new([], []));
                    times[1] = t.Elapsed.TotalSeconds;
                    var cid = (await cri.Runtime.CreateContainerAsync(new() { PodSandboxId = id, Config = containerConfig, SandboxConfig = sandboxConfig })).ContainerId;
                    times[2] = t.Elapsed.TotalSeconds;
                    await cri.Runtime.StartContainerAsync(new() { ContainerId = cid });
                    times[3] = t.Elapsed.TotalSeconds;
                    times[4] = wall.Elapsed.TotalSeconds;
                    return times;
                }
                finally
                {
                    gate.Release();
                }
            }));
            var total = wall.Elapsed.TotalSeconds;
            var busy = (BusyJiffies() - busyBefore) / 100.0;
            var work = CpuSeconds(containerd.ProcessId, dir);
            string P(Func<double[], double> f) { var v = phases.Select(f).Order().ToList(); return $"p50 {v[(int)Math.Ceiling(0.5 * v.Count) - 1],5:F2} s, p99 {v[(int)Math.Ceiling(0.99 * v.Count) - 1],5:F2} s"; }
            Console.WriteLine($"{pods} pods, {parallel} at once, bridge ipMasq {ipMasq}: all started in {total:F2} s; CPU busy {busy:F1} s of {Environment.ProcessorCount * total:F1} s (all processes); load {File.ReadAllText("/proc/loadavg")[..14]}");
            Console.WriteLine($"  CPU of containerd, its shims and their children (runc, CNI plugins): {work:F1} s");
            Console.WriteLine($"  RunPodSandbox                 {P(p => p[0])}");
            Console.WriteLine($"  CreateContainer               {P(p => p[2] - p[1])}");
            Console.WriteLine($"  StartContainer                {P(p => p[3] - p[2])}");
            Console.WriteLine($"  first call to started (a pod) {P(p => p[3])}");
            Console.WriteLine($"  bench start to started        {P(p => p[4])}");
            return 0;
        }
        finally
        {
            if (containerd is not null)
            {
                await RemoveAllAsync(containerd);
                await containerd.DisposeAsync();
            }
            foreach (var m in File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4]).Where(m => m.StartsWith(dir + "/")).OrderDescending())
                Run("umount", ["-l", m]);
            Run("ip", ["netns", "delete", ns]);
            Directory.Delete(dir, recursive: true);
        }
    }

    static JsonObject Pod(int i) => new()
    {
        ["metadata"] = new JsonObject { ["name"] = $"sleep-{i}", ["namespace"] = "bench", ["uid"] = Guid.NewGuid().ToString() },
        ["spec"] = new JsonObject
        {
            ["containers"] = new JsonArray(new JsonObject
            {
                ["name"] = "sleep", ["image"] = Busybox, ["command"] = new JsonArray("/bin/busybox", "sleep", "3600"),
            }),
        },
    };

    static async Task<bool> NetworkReadyAsync(ContainerdSupervisor containerd) =>
        (await containerd.Cri.Runtime.StatusAsync(new())).Status.Conditions.Any(c => c.Type == "NetworkReady" && c.Status);

    static async Task RemoveAllAsync(ContainerdSupervisor containerd)
    {
        var sandboxes = await containerd.Cri.Runtime.ListPodSandboxAsync(new());
        await Task.WhenAll(sandboxes.Items.Select(async s =>
        {
            await containerd.Cri.Runtime.StopPodSandboxAsync(new() { PodSandboxId = s.Id });
            await containerd.Cri.Runtime.RemovePodSandboxAsync(new() { PodSandboxId = s.Id });
        }));
    }

    /// <summary>
    /// CPU seconds (user + system, with reaped children: CNI plugins are containerd's, runc the shims') of containerd
    /// and of the shims whose command line names <paramref name="dir"/>: less load-dependent than wall time.
    /// </summary>
    static double CpuSeconds(int? containerdPid, string dir)
    {
        double Of(int pid)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return (long.Parse(f[11]) + long.Parse(f[12]) + long.Parse(f[13]) + long.Parse(f[14])) / 100.0;
            }
            catch (IOException) { return 0; }
        }
        var total = containerdPid is int c ? Of(c) : 0;
        foreach (var p in Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit)))
        {
            string cmdline;
            try { cmdline = File.ReadAllText($"/proc/{p}/cmdline").Replace('\0', ' '); }
            catch (IOException) { continue; }
            if (cmdline.Contains("containerd-shim") && cmdline.Contains(dir)) total += Of(int.Parse(p!));
        }
        return total;
    }

    /// <summary>CPU time spent by everything on the machine (user, nice, system, irq, softirq), in jiffies.</summary>
    static long BusyJiffies()
    {
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(f[1]) + long.Parse(f[2]) + long.Parse(f[3]) + long.Parse(f[6]) + long.Parse(f[7]);
    }

    static void Run(string file, string[] args)
    {
        var res = Containerd.Run(file, args);
        if (res.Code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {res.Err}");
    }
}
