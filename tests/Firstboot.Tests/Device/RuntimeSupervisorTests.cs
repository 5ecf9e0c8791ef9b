// The runtime's command line from the profile, and the real appliance-runtime run, failed and stopped by the supervisor.
using System.Diagnostics;
using System.Net;
using Appliance.Firstboot.Device;

namespace Appliance.Firstboot.Tests.Device;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RuntimeSupervisorTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void ServerSite_CommandLine_CarriesTheProfilesNodeAndClusterSettings()
    {
        var spec = RuntimeCommand.Build(new RuntimeSettings(RuntimeRole.Server, "/var/lib/appliance/data", "edge-1")
        {
            NodeLabels = new Dictionary<string, string> { ["zone"] = "hall-b", ["app"] = "scada" },
            NodeTaints = ["dedicated=scada:NoSchedule"],
            NodeIp = IPAddress.Parse("192.168.10.5"),
            ClusterCidr = "10.42.0.0/16",
            ServiceCidr = "10.43.0.0/16",
            ClusterDns = "10.43.0.10",
        });
        Assert.Equal("/usr/lib/appliance/appliance-runtime", spec.Program);
        Assert.Equal(["server", "--data-dir", "/var/lib/appliance/data/runtime", "--cluster-cidr", "10.42.0.0/16",
            "--service-cidr", "10.43.0.0/16", "--cluster-dns", "10.43.0.10", "--node-name", "edge-1", "--node-ip", "192.168.10.5",
            "--node-label", "app=scada", "--node-label", "zone=hall-b", "--node-taint", "dedicated=scada:NoSchedule"], spec.Arguments);
        Assert.Equal("/var/lib/appliance/data/logs/appliance-runtime.log", spec.LogFile);
        Assert.Equal("/run/appliance/appliance-runtime.pid", spec.PidFile);
    }

    [Fact]
    public void AgentSite_CommandLine_JoinsTheServerWithTheTokenFile_AndRefusesWithoutThem()
    {
        var s = new RuntimeSettings(RuntimeRole.Agent, "/data", "edge-2")
        {
            ServerUrl = new Uri("https://192.168.10.5:6443/"),
            TokenFile = "/data/secrets/token",
            ClusterCidr = "10.42.0.0/16", // a server's setting: not for the agent verb
        };
        Assert.Equal(["agent", "--server", "https://192.168.10.5:6443", "--token-file", "/data/secrets/token",
            "--data-dir", "/data/runtime/agent", "--node-name", "edge-2"], RuntimeCommand.Build(s).Arguments);
        Assert.Contains("cluster.server", Assert.Throws<ArgumentException>(() => RuntimeCommand.Build(s with { ServerUrl = null })).Message);
        Assert.Contains("token", Assert.Throws<ArgumentException>(() => RuntimeCommand.Build(s with { TokenFile = null })).Message);
    }

    [Fact]
    public async Task RealServer_StartedBySupervisor_ServesReadyz_AndStopsCleanlyOnSigterm()
    {
        using var dir = new TempDir("fb-rt-");
        int port = RealRuntime.FreePort();
        var settings = RealRuntime.Server(dir, port);
        var log = new List<string>();
        await using var sup = new ProcessSupervisor(RuntimeCommand.Build(settings), l => { lock (log) log.Add(l); });
        sup.Start();
        Assert.True(await RealRuntime.ReadyzAsync(port, TimeSpan.FromSeconds(90), Ct),
            $"no /readyz: {string.Join("\n", log)}\n{File.ReadAllText(RuntimeCommand.LogFile(settings))}");
        Assert.True(File.Exists(Path.Combine(dir["data"], "runtime", "kubeconfig.yaml")));
        Assert.Equal(SupervisorState.Running, sup.Status.State);
        Assert.Equal(sup.Status.Pid.ToString(), File.ReadAllText(dir["run/appliance-runtime.pid"]).Trim());

        var clock = Stopwatch.StartNew();
        await sup.StopAsync();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(25), $"stop took {clock.Elapsed.TotalSeconds:0.0} s");
        var exit = Assert.Single(sup.Exits);
        Assert.Equal(0, exit.ExitCode); // SIGTERM is a clean stop for the runtime
        Assert.DoesNotContain("sending SIGKILL", File.ReadAllText(RuntimeCommand.LogFile(settings)));
    }

    [Fact]
    public async Task RealServer_ThatRefusesItsFlags_IsRestartedWithBackoff_AndItsReasonIsInTheLog()
    {
        using var dir = new TempDir("fb-rt-");
        var settings = RealRuntime.Server(dir, RealRuntime.FreePort(), "--snapshot-retention", "0");
        var policy = new BackoffPolicy(TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(1));
        await using var sup = new ProcessSupervisor(RuntimeCommand.Build(settings), _ => { }, policy);
        sup.Start();
        var clock = Stopwatch.StartNew();
        while (sup.Exits.Count < 2 && clock.Elapsed < TimeSpan.FromSeconds(90)) await Task.Delay(100, Ct);
        await sup.StopAsync();
        Assert.True(sup.Exits.Count >= 2, $"exits: {string.Join("; ", sup.Exits)}");
        Assert.All(sup.Exits, e => Assert.Equal(2, e.ExitCode)); // a bad flag: exit 2, one line
        var file = File.ReadAllText(RuntimeCommand.LogFile(settings));
        Assert.Contains("snapshot-retention", file);
        Assert.Contains("starting it again in 0.3 s", file);
        Assert.Contains("starting it again in 0.6 s", file);
    }
}
