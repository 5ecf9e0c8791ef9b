// The kubelet with real containers: graceful termination through kubectl delete, lifecycle hooks, resolv.conf per dnsPolicy, Events' fieldPath.
using System.Diagnostics;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "External")]
public sealed class KubeletLifecycleTests(KubeletHost.Fixture node) : IClassFixture<KubeletHost.Fixture>, IDisposable
{
    readonly TempDir _dir = new("lifecycle-");

    KubeletHost Host => node.Host;

    static JsonObject Spec(string script, long grace, JsonObject? lifecycle = null)
    {
        var container = new JsonObject { ["name"] = "main", ["image"] = ContainerdHost.Busybox, ["command"] = new JsonArray("sh", "-c", script) };
        if (lifecycle is not null) container["lifecycle"] = lifecycle;
        return new JsonObject { ["terminationGracePeriodSeconds"] = grace, ["containers"] = new JsonArray(container) };
    }

    static JsonObject Exec(string script) => new() { ["exec"] = new JsonObject { ["command"] = new JsonArray("sh", "-c", script) } };

    Task RunningAsync(string name) =>
        Host.WaitPodAsync(name, p => p["status"]?["containerStatuses"]?[0]?["state"]?["running"] is not null, TimeSpan.FromSeconds(60), $"pod {name} running");

    /// <summary><c>kubectl delete pod NAME</c> (which waits until the pod is gone); returns how long it took.</summary>
    async Task<TimeSpan> DeleteAndWaitAsync(string name, bool expectTerminating)
    {
        var watch = Stopwatch.StartNew();
        await using var delete = Host.Kubectl.Start("delete", "pod", name, "--timeout=90s");
        if (expectTerminating)
            await Poll.UntilAsync(async () => (await Host.Kubectl.RunAsync("get", "pod", name)).Out, o => o.Contains("Terminating"),
                TimeSpan.FromSeconds(20), $"pod {name} shown Terminating");
        var done = await delete.WaitAsync(TimeSpan.FromSeconds(120));
        Assert.True(done.ExitCode == 0, done.Out + done.Error);
        Assert.Contains($"pod \"{name}\" deleted", done.Out);
        Assert.Null(await Host.PodAsync("default", name));
        return watch.Elapsed;
    }

    [Fact]
    public async Task KubectlDelete_ShowsTerminating_WaitsForATrappedSigterm_ThenThePodIsGone()
    {
        await Host.StartAsync();
        var created = await Host.CreatePodAsync("trapper", Spec("trap 'echo got TERM; sleep 2; exit 0' TERM; echo up; while true; do sleep 0.2; done", 30));
        var uid = created["metadata"]!["uid"]!.GetValue<string>();
        await RunningAsync("trapper");
        var took = await DeleteAndWaitAsync("trapper", expectTerminating: true);
        // The container took 2 s after SIGTERM; far less than the 30 s grace period, which was not waited out.
        Assert.InRange(took, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(20));
        Assert.Empty(await Host.SandboxesAsync(uid));
    }

    [Fact]
    public async Task IgnoredSigterm_IsKilledWhenTerminationGracePeriodSecondsRunOut()
    {
        await Host.StartAsync();
        await Host.CreatePodAsync("stubborn", Spec("trap '' TERM; while true; do sleep 0.2; done", 4));
        await RunningAsync("stubborn");
        var took = await DeleteAndWaitAsync("stubborn", expectTerminating: true);
        Assert.InRange(took, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task DeletingANamespace_WaitsForItsRunningPodsToBeStopped()
    {
        await Host.StartAsync();
        (await Host.Kubectl.RunAsync("create", "namespace", "doomed-ns")).Ok();
        var manifest = _dir.Write("pod.json", new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = "inside", ["namespace"] = "doomed-ns" },
            ["spec"] = Spec("trap 'sleep 1; exit 0' TERM; while true; do sleep 0.2; done", 30),
        }.ToJsonString());
        (await Host.Kubectl.RunAsync("apply", "-f", manifest)).Ok();
        await Poll.UntilAsync(async () => (await Host.Kubectl.RunAsync("-n", "doomed-ns", "get", "pod", "inside")).Out, o => o.Contains("Running"),
            TimeSpan.FromSeconds(60), "pod inside running (scheduled onto the node)");
        var delete = await Host.Kubectl.RunAsync("delete", "namespace", "doomed-ns", "--timeout=90s");
        Assert.True(delete.ExitCode == 0, delete.Out + delete.Error);
        Assert.Null(await Host.PodAsync("doomed-ns", "inside"));
        Assert.NotEqual(0, (await Host.Kubectl.RunAsync("get", "namespace", "doomed-ns")).ExitCode);
    }

    [Fact]
    public async Task PreStop_RunsBeforeSigterm_WithinTheGracePeriod_AndItsTimeCounts()
    {
        await Host.StartAsync();
        var shared = _dir["shared"];
        Directory.CreateDirectory(shared);
        var spec = Spec("while true; do sleep 0.2; done", 10, new JsonObject { ["preStop"] = Exec("echo prestop-ran > /shared/prestop; sleep 9") });
        spec["containers"]![0]!["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "shared", ["mountPath"] = "/shared" });
        spec["volumes"] = new JsonArray(new JsonObject { ["name"] = "shared", ["hostPath"] = new JsonObject { ["path"] = shared, ["type"] = "Directory" } });
        await Host.CreatePodAsync("stopper", spec);
        await RunningAsync("stopper");
        // The shell (PID 1, no trap) ignores SIGTERM, so it is SIGKILLed when the 10 s grace period runs out: the
        // 9 s of preStop count against it (10 s in all, not 9 + 10: the upper bound leaves a loaded machine room but
        // stays below 19 s).
        var took = await DeleteAndWaitAsync("stopper", expectTerminating: true);
        Assert.Equal("prestop-ran\n", File.ReadAllText(Path.Combine(shared, "prestop")));
        Assert.InRange(took, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(18.5));
    }

    [Fact]
    public async Task HttpGetPreStop_ReachesThePod_AndAFailingHttpGetPostStartSaysWhy()
    {
        await Host.StartAsync();
        var shared = _dir["http-shared"];
        Directory.CreateDirectory(shared);
        // busybox httpd runs a CGI script for the hook's request, which leaves a file in a hostPath directory.
        var script = "mkdir -p /tmp/www/cgi-bin; printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho \"$REQUEST_METHOD $REQUEST_URI\" > /shared/hook\\necho done\\n' > /tmp/www/cgi-bin/stop; "
            + "chmod 755 /tmp/www/cgi-bin/stop; exec httpd -f -p 8080 -h /tmp/www";
        var preStop = new JsonObject { ["httpGet"] = new JsonObject { ["path"] = "/cgi-bin/stop?why=prestop", ["port"] = 8080 } };
        var spec = Spec(script, 3, new JsonObject { ["preStop"] = preStop });
        spec["containers"]![0]!["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "shared", ["mountPath"] = "/shared" });
        spec["volumes"] = new JsonArray(new JsonObject { ["name"] = "shared", ["hostPath"] = new JsonObject { ["path"] = shared, ["type"] = "Directory" } });
        await Host.CreatePodAsync("httpstop", spec);
        await RunningAsync("httpstop");
        await Task.Delay(1000, TestContext.Current.CancellationToken); // httpd listening
        await DeleteAndWaitAsync("httpstop", expectTerminating: false);
        Assert.Equal("GET /cgi-bin/stop?why=prestop\n", File.ReadAllText(Path.Combine(shared, "hook")));

        await Host.CreatePodAsync("httpfail", Spec("sleep 3600", 1, new JsonObject { ["postStart"] = new JsonObject { ["httpGet"] = new JsonObject { ["path"] = "/hook", ["port"] = 9 } } }));
        await WaitEventsAsync("httpfail", ("FailedPostStartHook", "HTTP lifecycle hook (/hook) for Container \"main\" in Pod \"httpfail_default("));
        await Host.Kubectl.RunAsync("delete", "pod", "httpfail", "--wait=false");
    }

    [Fact]
    public async Task PostStart_RunsRightAfterTheStart_AndItsFileIsSeenByTheContainer()
    {
        await Host.StartAsync();
        await Host.CreatePodAsync("poststart", Spec(
            "for i in $(seq 1 100); do if [ -f /tmp/hook ]; then echo \"saw $(cat /tmp/hook)\"; break; fi; sleep 0.1; done; sleep 3600", 1,
            new JsonObject { ["postStart"] = Exec("echo from-poststart > /tmp/hook") }));
        await RunningAsync("poststart");
        await Poll.UntilAsync(async () => (await Host.Kubectl.RunAsync("logs", "poststart")).Out, o => o.Contains("saw from-poststart"),
            TimeSpan.FromSeconds(20), "the container's log");
        await Host.Kubectl.RunAsync("delete", "pod", "poststart", "--wait=false");
    }

    [Fact]
    public async Task FailingPostStart_KillsTheContainer_WithFailedPostStartHook_AndATcpSocketHookFails()
    {
        await Host.StartAsync();
        await Host.CreatePodAsync("badhook", Spec("sleep 3600", 1, new JsonObject { ["postStart"] = Exec("echo nope; exit 3") }));
        var events = await WaitEventsAsync("badhook", ("FailedPostStartHook", "Exec lifecycle hook ([sh -c echo nope; exit 3]) for Container \"main\" in Pod \"badhook_default("),
            ("Killing", "Container main FailedPostStartHook"));
        Assert.All(events.Where(e => e["reason"]!.GetValue<string>() is "FailedPostStartHook" or "Killing"),
            e => Assert.Equal("spec.containers{main}", e["involvedObject"]!["fieldPath"]!.GetValue<string>()));
        await Host.WaitPodAsync("badhook", p => p["status"]?["containerStatuses"]?[0]?["restartCount"]?.GetValue<int>() >= 1, TimeSpan.FromSeconds(60),
            "badhook restarted after its hook failed");

        // tcpSocket is kept in the API for old objects, but a hook using it fails (as upstream).
        await Host.CreatePodAsync("tcphook", Spec("sleep 3600", 1, new JsonObject { ["postStart"] = new JsonObject { ["tcpSocket"] = new JsonObject { ["port"] = 80 } } }));
        await WaitEventsAsync("tcphook", ("FailedPostStartHook", "invalid handler"));
        await Host.Kubectl.RunAsync("delete", "pod", "badhook", "tcphook", "--wait=false");
    }

    [Fact]
    public async Task ContainerEvents_NameTheContainer_InFieldPath()
    {
        await Host.StartAsync();
        var spec = Spec("sleep 3600", 1);
        spec["initContainers"] = new JsonArray(new JsonObject { ["name"] = "setup", ["image"] = ContainerdHost.Busybox, ["command"] = new JsonArray("sh", "-c", "true") });
        await Host.CreatePodAsync("paths", spec);
        var events = await WaitEventsAsync("paths", ("Started", "Started container setup"), ("Started", "Started container main"));
        string FieldPath(string message) => events.First(e => e["message"]!.GetValue<string>() == message)["involvedObject"]!["fieldPath"]!.GetValue<string>();
        Assert.Equal("spec.initContainers{setup}", FieldPath("Started container setup"));
        Assert.Equal("spec.containers{main}", FieldPath("Started container main"));
        Assert.Equal("spec.containers{main}", FieldPath("Created container main"));
        await Host.Kubectl.RunAsync("delete", "pod", "paths", "--wait=false");
    }

    [Fact]
    public async Task ResolvConf_FollowsDnsPolicy_AndDnsConfig()
    {
        await Host.StartAsync();
        var pods = new Dictionary<string, JsonObject>
        {
            ["dns-cluster"] = Spec("sleep 3600", 1),
            ["dns-default"] = Spec("sleep 3600", 1),
            ["dns-none"] = Spec("sleep 3600", 1),
            ["dns-merged"] = Spec("sleep 3600", 1),
            ["dns-hostnet"] = Spec("sleep 3600", 1),
        };
        pods["dns-default"]["dnsPolicy"] = "Default";
        pods["dns-none"]["dnsPolicy"] = "None";
        pods["dns-none"]["dnsConfig"] = new JsonObject
        {
            ["nameservers"] = new JsonArray("192.0.2.1"),
            ["searches"] = new JsonArray("my.example"),
            ["options"] = new JsonArray(new JsonObject { ["name"] = "ndots", ["value"] = "2" }, new JsonObject { ["name"] = "edns0" }),
        };
        pods["dns-merged"]["dnsConfig"] = new JsonObject
        {
            ["nameservers"] = new JsonArray("192.0.2.2"),
            ["searches"] = new JsonArray("extra.example"),
            ["options"] = new JsonArray(new JsonObject { ["name"] = "ndots", ["value"] = "1" }),
        };
        pods["dns-hostnet"]["hostNetwork"] = true;
        foreach (var (name, spec) in pods) await Host.CreatePodAsync(name, spec);

        async Task<string> ResolvConf(string name)
        {
            await RunningAsync(name);
            return (await Host.Kubectl.RunAsync("exec", name, "--", "sh", "-c", "cat /etc/resolv.conf")).Ok().Out;
        }
        static string[] Lines(string text) => [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => !l.StartsWith('#'))];

        // containerd writes the search line first, then the nameservers, then the options.
        Assert.Equal(["search default.svc.cluster.local svc.cluster.local cluster.local node.example", "nameserver 10.43.0.10", "options ndots:5"],
            Lines(await ResolvConf("dns-cluster")));
        Assert.Equal(["search node.example", "nameserver 192.0.2.53", "options timeout:2"], Lines(await ResolvConf("dns-default")));
        Assert.Equal(["search my.example", "nameserver 192.0.2.1", "options ndots:2 edns0"], Lines(await ResolvConf("dns-none")));
        Assert.Equal(["search default.svc.cluster.local svc.cluster.local cluster.local node.example extra.example", "nameserver 10.43.0.10", "nameserver 192.0.2.2", "options ndots:1"],
            Lines(await ResolvConf("dns-merged")));
        // hostNetwork with ClusterFirst is Default, as upstream.
        Assert.Equal(["search node.example", "nameserver 192.0.2.53", "options timeout:2"], Lines(await ResolvConf("dns-hostnet")));
        await Host.Kubectl.RunAsync(["delete", "pod", .. pods.Keys, "--wait=false"]);
    }

    /// <summary>Waits until the kubelet's Events of pod <paramref name="name"/> include every (reason, message part) given.</summary>
    async Task<List<JsonObject>> WaitEventsAsync(string name, params (string Reason, string Says)[] wanted)
    {
        List<JsonObject> Kubelet(string json) => [.. JsonNode.Parse(json)!["items"]!.AsArray().OfType<JsonObject>()
            .Where(e => e["source"]?["component"]?.GetValue<string>() == "kubelet")];
        var json = await Poll.UntilAsync(
            async () => (await Host.Kubectl.RunAsync("get", "events", "--field-selector", $"involvedObject.name={name}", "-o", "json")).Ok().Out,
            o => wanted.All(w => Kubelet(o).Any(e => e["reason"]!.GetValue<string>() == w.Reason && e["message"]!.GetValue<string>().Contains(w.Says))),
            TimeSpan.FromSeconds(40), $"the kubelet's events of {name}");
        return Kubelet(json);
    }

    /// <inheritdoc />
    public void Dispose() => _dir.Dispose();
}
