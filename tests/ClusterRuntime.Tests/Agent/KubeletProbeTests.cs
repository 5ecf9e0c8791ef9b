// Probes on a real containerd: exec liveness restarts, readiness gates Ready, startup delays liveness, tcp/http reach the pod IP.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "External")]
public sealed class KubeletProbeTests(KubeletHost.Fixture node) : IClassFixture<KubeletHost.Fixture>
{
    KubeletHost Host => node.Host;

    static JsonObject Pod(string script, params (string Field, JsonObject Probe)[] probes)
    {
        var container = new JsonObject
        {
            ["name"] = "main",
            ["image"] = ContainerdHost.Busybox,
            ["command"] = new JsonArray("sh", "-c", script),
            ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["containerPort"] = 8080 }),
        };
        foreach (var (field, probe) in probes) container[field] = probe;
        return new JsonObject { ["restartPolicy"] = "Always", ["terminationGracePeriodSeconds"] = 1, ["containers"] = new JsonArray(container) };
    }

    static JsonObject Exec(string command, int failureThreshold = 3) => new()
    {
        ["exec"] = new JsonObject { ["command"] = new JsonArray("sh", "-c", command) },
        ["periodSeconds"] = 1,
        ["failureThreshold"] = failureThreshold,
    };

    static JsonObject? Status0(JsonObject pod) => pod["status"]?["containerStatuses"]?[0] as JsonObject;

    static bool Running(JsonObject pod) => Status0(pod)?["state"]?["running"] is not null;

    static string? Condition(JsonObject pod, string type) =>
        pod["status"]?["conditions"]?.AsArray().FirstOrDefault(c => c?["type"]?.GetValue<string>() == type)?["status"]?.GetValue<string>();

    [Fact]
    public async Task FailingExecLivenessProbe_RestartsTheContainer_InTheSamePod()
    {
        await Host.StartAsync();
        var created = await Host.CreatePodAsync("live", Pod("touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600",
            ("livenessProbe", Exec("cat /tmp/healthy", failureThreshold: 2))));
        var uid = created["metadata"]!["uid"]!.GetValue<string>();
        var pod = await Host.WaitPodAsync("live", p => Status0(p)?["restartCount"]?.GetValue<int>() >= 1 && Running(p), TimeSpan.FromSeconds(60), "a restart after the liveness failure");
        Assert.Equal(uid, pod["metadata"]!["uid"]!.GetValue<string>());
        Assert.NotNull(Status0(pod)!["lastState"]!["terminated"]);
        // The new instance passes its probe for 2 s, then fails again: the count keeps growing.
        await Host.WaitPodAsync("live", p => Status0(p)?["restartCount"]?.GetValue<int>() >= 2, TimeSpan.FromSeconds(60), "a second restart");
        Assert.Single(await Host.SandboxesAsync(uid));
        // Upstream's Events on the pod: Unhealthy with the probe's output, then Killing.
        var events = JsonNode.Parse((await Host.Kubectl.RunAsync("get", "events", "-o", "json")).Ok().Out)!["items"]!.AsArray()
            .Where(e => e!["involvedObject"]!["uid"]?.GetValue<string>() == uid).Select(e => (e!["reason"]!.GetValue<string>(), e["message"]!.GetValue<string>())).ToList();
        Assert.Contains(events, e => e.Item1 == "Unhealthy" && e.Item2.StartsWith("Liveness probe failed: ") && e.Item2.Contains("/tmp/healthy"));
        Assert.Contains(("Killing", "Container main failed liveness probe, will be restarted"), events);
    }

    [Fact]
    public async Task ExecReadinessProbe_KeepsThePodNotReady_UntilItPasses()
    {
        await Host.StartAsync();
        await Host.CreatePodAsync("ready", Pod("sleep 6; touch /tmp/ready; sleep 3600", ("readinessProbe", Exec("test -f /tmp/ready"))));
        var pod = await Host.WaitPodAsync("ready", Running, TimeSpan.FromSeconds(60), "container running");
        var started = DateTime.UtcNow;
        Assert.Equal("False", Condition(pod, "Ready"));
        Assert.Equal("False", Condition(pod, "ContainersReady"));
        Assert.False(Status0(pod)!["ready"]!.GetValue<bool>());
        Assert.True(Status0(pod)!["started"]!.GetValue<bool>());
        var row = (await Host.Kubectl.RunAsync("get", "pod", "ready", "--no-headers")).Ok().Out;
        Assert.Matches(@"^ready\s+0/1\s+Running\s", row);

        pod = await Host.WaitPodAsync("ready", p => Condition(p, "Ready") == "True", TimeSpan.FromSeconds(30), "Ready True once /tmp/ready exists");
        Assert.True(DateTime.UtcNow - started > TimeSpan.FromSeconds(2), "ready before the file could exist");
        Assert.True(Status0(pod)!["ready"]!.GetValue<bool>());
        Assert.Equal(0, Status0(pod)!["restartCount"]!.GetValue<int>());
    }

    [Fact]
    public async Task StartupProbe_HoldsOffTheLivenessProbe_UntilItSucceeds()
    {
        await Host.StartAsync();
        // Liveness alone would kill the container after one second; the startup probe allows up to 30.
        await Host.CreatePodAsync("slow", Pod("sleep 5; touch /tmp/started; sleep 3600",
            ("startupProbe", Exec("test -f /tmp/started", failureThreshold: 30)),
            ("livenessProbe", Exec("test -f /tmp/started", failureThreshold: 1))));
        var pod = await Host.WaitPodAsync("slow", Running, TimeSpan.FromSeconds(60), "container running");
        Assert.False(Status0(pod)!["started"]!.GetValue<bool>());
        Assert.False(Status0(pod)!["ready"]!.GetValue<bool>());
        pod = await Host.WaitPodAsync("slow", p => Status0(p)?["started"]?.GetValue<bool>() == true && Condition(p, "Ready") == "True",
            TimeSpan.FromSeconds(30), "started and ready");
        await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken);
        pod = (await Host.PodAsync("default", "slow"))!;
        Assert.Equal(0, Status0(pod)!["restartCount"]!.GetValue<int>());
        Assert.True(Running(pod));
    }

    [Fact]
    public async Task TcpAndHttpProbes_ReachThePodIp_ByNumberAndByPortName()
    {
        await Host.StartAsync();
        var http = new JsonObject { ["httpGet"] = new JsonObject { ["path"] = "/index.html", ["port"] = "http" }, ["periodSeconds"] = 1 };
        var tcp = new JsonObject { ["tcpSocket"] = new JsonObject { ["port"] = 8080 }, ["periodSeconds"] = 1, ["initialDelaySeconds"] = 8, ["failureThreshold"] = 1 };
        await Host.CreatePodAsync("web", Pod("mkdir -p /tmp/www; echo ok > /tmp/www/index.html; sleep 4; exec httpd -f -p 8080 -h /tmp/www",
            ("readinessProbe", http), ("livenessProbe", tcp)));
        var pod = await Host.WaitPodAsync("web", Running, TimeSpan.FromSeconds(60), "container running");
        var started = DateTime.UtcNow;
        Assert.Equal("False", Condition(pod, "Ready"));
        pod = await Host.WaitPodAsync("web", p => Condition(p, "Ready") == "True", TimeSpan.FromSeconds(30), "Ready once httpd answers 200");
        Assert.True(DateTime.UtcNow - started > TimeSpan.FromSeconds(1), "ready before httpd listened");
        // The tcpSocket liveness probe starts after 8 s and finds the port open: no restart.
        await Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(0, Status0((await Host.PodAsync("default", "web"))!)!["restartCount"]!.GetValue<int>());
    }

    [Fact]
    public async Task TcpLivenessProbe_OnAClosedPort_RestartsTheContainer()
    {
        await Host.StartAsync();
        var tcp = new JsonObject { ["tcpSocket"] = new JsonObject { ["port"] = 9999 }, ["periodSeconds"] = 1, ["failureThreshold"] = 2 };
        await Host.CreatePodAsync("closed", Pod("sleep 3600", ("livenessProbe", tcp)));
        var pod = await Host.WaitPodAsync("closed", p => Status0(p)?["restartCount"]?.GetValue<int>() >= 1, TimeSpan.FromSeconds(60), "a restart from the tcp liveness probe");
        Assert.NotNull(Status0(pod)!["lastState"]!["terminated"]);
    }
}
