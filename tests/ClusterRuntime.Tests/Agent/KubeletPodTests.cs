// The kubelet against a real server and containerd: pods run, crash-loop, wait for images, are deleted, are adopted.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "External")]
public sealed class KubeletPodTests(KubeletHost.Fixture node) : IClassFixture<KubeletHost.Fixture>
{
    KubeletHost Host => node.Host;

    static JsonObject Busybox(string name, string script, string restartPolicy = "Always", string? image = null) => new()
    {
        ["restartPolicy"] = restartPolicy,
        ["terminationGracePeriodSeconds"] = 2,
        ["containers"] = new JsonArray(new JsonObject
        {
            ["name"] = name,
            ["image"] = image ?? ContainerdHost.Busybox,
            ["imagePullPolicy"] = "Always",
            ["command"] = new JsonArray("sh", "-c", script),
        }),
    };

    Task<JsonObject> WaitPodAsync(string name, Func<JsonObject, bool> done, TimeSpan timeout, string what) => Host.WaitPodAsync(name, done, timeout, what);

    static JsonObject? Status0(JsonObject pod) => pod["status"]?["containerStatuses"]?[0] as JsonObject;

    [Fact]
    public async Task BusyboxPod_RunsWithAPodIpFromThePodCidr_AndKubectlShowsIt()
    {
        await Host.StartAsync();
        var created = await Host.CreatePodAsync("web", Busybox("main", "echo hello; sleep 3600"));
        var pod = await WaitPodAsync("web", p => p["status"]?["phase"]?.GetValue<string>() == "Running" && Status0(p)?["ready"]?.GetValue<bool>() == true,
            TimeSpan.FromSeconds(60), "pod web Running and ready");
        var ip = IPAddress.Parse(pod["status"]!["podIP"]!.GetValue<string>());
        Assert.True(IPNetwork.Parse(Host.PodCidr).Contains(ip), $"{ip} is not in {Host.PodCidr}");
        Assert.NotEqual(IPAddress.Parse(Host.PodCidr.Split('/')[0]), ip);
        var status = Status0(pod)!;
        Assert.StartsWith("containerd://", status["containerID"]!.GetValue<string>());
        Assert.Equal(0, status["restartCount"]!.GetValue<int>());
        Assert.NotNull(status["state"]!["running"]!["startedAt"]);
        Assert.Equal("127.0.0.1", pod["status"]!["hostIP"]!.GetValue<string>());
        foreach (var type in new[] { "PodScheduled", "Initialized", "ContainersReady", "Ready" })
            Assert.Contains(pod["status"]!["conditions"]!.AsArray(), c => c!["type"]!.GetValue<string>() == type && c["status"]!.GetValue<string>() == "True");

        var wide = (await Host.Kubectl.RunAsync("get", "pod", "web", "-o", "wide", "--no-headers")).Ok().Out;
        Assert.Matches($@"^web\s+1/1\s+Running\s+0\s+\S+\s+{Regex(ip.ToString())}\s+{KubeletHost.NodeName}\s", wide);

        // The CRI log file under the pod's log directory (what kubectl logs will read).
        var uid = created["metadata"]!["uid"]!.GetValue<string>();
        var log = Path.Combine(Host.Containerd["pods"], $"default_web_{uid}", "main", "0.log");
        await Poll.UntilAsync(() => Task.FromResult(File.Exists(log) ? File.ReadAllText(log) : ""), t => t.Contains("stdout F hello"), TimeSpan.FromSeconds(10), log);

        // The kubelet's Events, in upstream's words; imagePullPolicy Always is not obeyed offline, and the Event says so.
        var events = await WaitEventsAsync("web",
            ("Pulled", $"Container image \"{ContainerdHost.Busybox}\" already present on machine; not pulled although imagePullPolicy is Always: node {KubeletHost.NodeName} is offline"),
            ("Created", "Created container main"), ("Started", "Started container main"));
        Assert.All(events, e => Assert.Equal(uid, e["involvedObject"]!["uid"]!.GetValue<string>()));
    }

    static string Regex(string s) => System.Text.RegularExpressions.Regex.Escape(s);

    /// <summary>Waits until the kubelet's Events of pod <paramref name="name"/> include every (reason, message part) given.</summary>
    async Task<List<JsonObject>> WaitEventsAsync(string name, params (string Reason, string Says)[] wanted)
    {
        List<JsonObject> Kubelet(string json) => [.. JsonNode.Parse(json)!["items"]!.AsArray().OfType<JsonObject>()
            .Where(e => e["source"]?["component"]?.GetValue<string>() == "kubelet" && e["reportingInstance"]?.GetValue<string>() == KubeletHost.NodeName)];
        var json = await Poll.UntilAsync(
            async () => (await Host.Kubectl.RunAsync("get", "events", "--field-selector", $"involvedObject.name={name}", "-o", "json")).Ok().Out,
            o => wanted.All(w => Kubelet(o).Any(e => e["reason"]!.GetValue<string>() == w.Reason && e["message"]!.GetValue<string>().Contains(w.Says))),
            TimeSpan.FromSeconds(20), $"the kubelet's events of {name}");
        return Kubelet(json);
    }

    [Fact]
    public async Task ContainerExitingOne_GoesIntoCrashLoopBackOff_WithAGrowingRestartCount()
    {
        await Host.StartAsync();
        var created = await Host.CreatePodAsync("crash", Busybox("crasher", "exit 1"));
        var uid = created["metadata"]!["uid"]!.GetValue<string>();
        var pod = await WaitPodAsync("crash", p => Status0(p)?["state"]?["waiting"]?["reason"]?.GetValue<string>() == "CrashLoopBackOff",
            TimeSpan.FromSeconds(60), "CrashLoopBackOff");
        var status = Status0(pod)!;
        Assert.Equal($"back-off 10s restarting failed container=crasher pod=crash_default({uid})", status["state"]!["waiting"]!["message"]!.GetValue<string>());
        Assert.Equal(1, status["restartCount"]!.GetValue<int>());
        Assert.Equal(1, status["lastState"]!["terminated"]!["exitCode"]!.GetValue<int>());
        Assert.Equal("Error", status["lastState"]!["terminated"]!["reason"]!.GetValue<string>());
        Assert.Equal("Running", pod["status"]!["phase"]!.GetValue<string>());

        pod = await WaitPodAsync("crash", p => Status0(p)?["restartCount"]?.GetValue<int>() >= 2 && Status0(p)?["state"]?["waiting"] is not null,
            TimeSpan.FromSeconds(40), "restartCount 2 after the 10 s back-off");
        Assert.Equal($"back-off 20s restarting failed container=crasher pod=crash_default({uid})", Status0(pod)!["state"]!["waiting"]!["message"]!.GetValue<string>());
        var row = (await Host.Kubectl.RunAsync("get", "pod", "crash", "--no-headers")).Ok().Out;
        Assert.Matches(@"^crash\s+0/1\s+CrashLoopBackOff\s+2 ", row);
        // The kubelet keeps the latest instance and the one before it, no more.
        Assert.InRange((await Host.ContainersAsync(uid)).Count, 1, 2);
        await WaitEventsAsync("crash", ("BackOff", $"Back-off restarting failed container crasher in pod crash_default({uid})"));
    }

    [Fact]
    public async Task ImageNotPreloaded_IsErrImagePullThenImagePullBackOff_SayingTheNodeIsOffline()
    {
        await Host.StartAsync();
        const string image = "example.local/not-preloaded/app:1.0";
        var started = DateTime.UtcNow;
        await Host.CreatePodAsync("nopull", Busybox("app", "true", image: image));
        var pod = await WaitPodAsync("nopull", p => Status0(p)?["state"]?["waiting"]?["reason"]?.GetValue<string>() is "ErrImagePull" or "ImagePullBackOff",
            TimeSpan.FromSeconds(10), "ErrImagePull within 10 s");
        var message = Status0(pod)!["state"]!["waiting"]!["message"]!.GetValue<string>();
        Assert.Contains($"\"{image}\"", message);
        Assert.Contains("offline", message);
        Assert.Contains("preload", message);
        await WaitPodAsync("nopull", p => Status0(p)?["state"]?["waiting"]?["reason"]?.GetValue<string>() == "ImagePullBackOff",
            TimeSpan.FromSeconds(10), "ImagePullBackOff");
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20));
        var row = (await Host.Kubectl.RunAsync("get", "pod", "nopull", "--no-headers")).Ok().Out;
        Assert.Matches(@"^nopull\s+0/1\s+(ImagePullBackOff|ErrImagePull)\s+0\s", row);
        Assert.Equal("Pending", pod["status"]!["phase"]!.GetValue<string>());
        await WaitEventsAsync("nopull", ("Failed", $"Failed to pull image \"{image}\": image \"{image}\" is not present on node"),
            ("Failed", "Error: ErrImagePull"), ("BackOff", $"Back-off pulling image \"{image}\""));
    }

    [Fact]
    public async Task DeletingAPod_RemovesItsSandbox()
    {
        await Host.StartAsync();
        var created = await Host.CreatePodAsync("doomed", Busybox("main", "sleep 3600"));
        var uid = created["metadata"]!["uid"]!.GetValue<string>();
        await WaitPodAsync("doomed", p => p["status"]?["phase"]?.GetValue<string>() == "Running", TimeSpan.FromSeconds(60), "pod doomed Running");
        Assert.Single(await Host.SandboxesAsync(uid));

        (await Host.Kubectl.RunAsync("delete", "pod", "doomed", "--wait=false")).Ok();
        await Poll.UntilAsync(() => Host.SandboxesAsync(uid), s => s.Count == 0, TimeSpan.FromSeconds(30), "the sandbox removed",
            s => string.Join(", ", s.Select(x => $"{x.Id[..12]} {x.State}")));
        Assert.Empty(await Host.ContainersAsync(uid));
        Assert.Null(await Host.PodAsync("default", "doomed"));
    }

    [Fact]
    public async Task RestartingTheKubelet_AdoptsTheRunningContainers()
    {
        await Host.StartAsync();
        var created = await Host.CreatePodAsync("kept", Busybox("main", "sleep 3600"));
        var uid = created["metadata"]!["uid"]!.GetValue<string>();
        var before = await WaitPodAsync("kept", p => Status0(p)?["state"]?["running"] is not null, TimeSpan.FromSeconds(60), "pod kept running");
        var containerId = Status0(before)!["containerID"]!.GetValue<string>();
        var sandbox = Assert.Single(await Host.SandboxesAsync(uid)).Id;

        await Host.RestartKubeletAsync();
        // Longer than one resync (10 s): the new kubelet has listed, synced and resynced the pod.
        await Poll.StaysAsync(() => Host.PodAsync("default", "kept"), p => Status0(p!)?["containerID"]?.GetValue<string>() == containerId
            && Status0(p!)?["restartCount"]?.GetValue<int>() == 0, TimeSpan.FromSeconds(12), "the same container, not restarted");
        Assert.Equal(sandbox, Assert.Single(await Host.SandboxesAsync(uid)).Id);
        Assert.Equal("containerd://" + Assert.Single(await Host.ContainersAsync(uid)).Id, containerId);
    }

    [Fact]
    public async Task InitContainersRunInOrderFirst_AndHostNetworkPodsGetTheNodeIp()
    {
        await Host.StartAsync();
        var spec = Busybox("main", "sleep 3600", restartPolicy: "OnFailure");
        spec["hostNetwork"] = true;
        spec["initContainers"] = new JsonArray(
            new JsonObject { ["name"] = "first", ["image"] = ContainerdHost.Busybox, ["command"] = new JsonArray("sh", "-c", "sleep 1") },
            new JsonObject { ["name"] = "second", ["image"] = ContainerdHost.Busybox, ["command"] = new JsonArray("sh", "-c", "true") });
        await Host.CreatePodAsync("inits", spec);
        var pod = await WaitPodAsync("inits", p => p["status"]?["phase"]?.GetValue<string>() == "Running", TimeSpan.FromSeconds(60), "pod inits Running");
        var inits = pod["status"]!["initContainerStatuses"]!.AsArray();
        Assert.Equal(["first", "second"], inits.Select(c => c!["name"]!.GetValue<string>()));
        var firstDone = DateTimeOffset.Parse(inits[0]!["state"]!["terminated"]!["finishedAt"]!.GetValue<string>());
        var secondStart = DateTimeOffset.Parse(inits[1]!["state"]!["terminated"]!["startedAt"]!.GetValue<string>());
        var mainStart = DateTimeOffset.Parse(Status0(pod)!["state"]!["running"]!["startedAt"]!.GetValue<string>());
        Assert.True(firstDone <= secondStart && secondStart <= mainStart, $"{firstDone:O} {secondStart:O} {mainStart:O}");
        Assert.All(inits, c => Assert.Equal("Completed", c!["state"]!["terminated"]!["reason"]!.GetValue<string>()));
        Assert.Equal("127.0.0.1", pod["status"]!["podIP"]!.GetValue<string>());
        // The init containers' image has a tag and no policy (IfNotPresent): a plain Pulled Event, nothing about pulling.
        var events = await WaitEventsAsync("inits", ("Pulled", $"Container image \"{ContainerdHost.Busybox}\" already present on machine"), ("Started", "Started container second"));
        Assert.Contains(events, e => e["reason"]!.GetValue<string>() == "Pulled" && e["message"]!.GetValue<string>() == $"Container image \"{ContainerdHost.Busybox}\" already present on machine");
    }
}
