// The pod worker's status: phase, conditions, IPs and container statuses as kubectl prints them, via pods/status.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Agent.Kubelet;

internal sealed partial class PodWorker
{
    async Task WriteStatusAsync(JsonObject pod, PodSandboxStatus sandbox, Dictionary<string, List<ContainerStatus>> containers, PodProgress progress, CancellationToken ct)
    {
        var old = Obj.Object(pod, "status");
        var init = Obj.Items(pod, "spec", "initContainers").Select(c => ContainerStatusJson(c, containers, init: true, progress)).ToList();
        var main = Obj.Items(pod, "spec", "containers").Select(c => ContainerStatusJson(c, containers, init: false, progress)).ToList();
        var podIp = PodIp(pod, sandbox);
        bool allReady = main.Count > 0 && main.All(c => Obj.Bool(c, "ready") == true);
        var status = new JsonObject
        {
            ["phase"] = Phase(pod, main, progress),
            ["conditions"] = new JsonArray(
                Condition(old, "PodReadyToStartContainers", sandbox.State == PodSandboxState.SandboxReady),
                Condition(old, "Initialized", progress.Initialized),
                Condition(old, "Ready", allReady),
                Condition(old, "ContainersReady", allReady),
                Condition(old, "PodScheduled", true)),
            ["hostIP"] = _options.NodeIp,
            ["hostIPs"] = new JsonArray(new JsonObject { ["ip"] = _options.NodeIp }),
            ["startTime"] = Obj.Str(old, "startTime") ?? Obj.Time(DateTimeOffset.UtcNow),
        };
        if (podIp.Length > 0)
        {
            status["podIP"] = podIp;
            status["podIPs"] = new JsonArray(new JsonObject { ["ip"] = podIp });
        }
        if (init.Count > 0) status["initContainerStatuses"] = new JsonArray([.. init]);
        status["containerStatuses"] = new JsonArray([.. main]);
        status["qosClass"] = Obj.Str(old, "qosClass") is { } qos ? qos : null;
        if (status["qosClass"] is null) status.Remove("qosClass");

        var text = status.ToJsonString();
        if (text == _lastStatus) return;
        var current = await _api.GetAsync(PodPath(pod), ct);
        if (current is null || Obj.Str(current, "metadata", "uid") != _uid) return;
        current["status"] = status;
        await _api.ReplaceAsync(PodPath(pod) + "/status", current, ct);
        _lastStatus = text;
    }

    /// <summary>Pending until init is done and a container ran; Succeeded/Failed once every container stopped for good.</summary>
    static string Phase(JsonObject pod, List<JsonObject> main, PodProgress progress)
    {
        if (progress.InitFailed) return "Failed";
        if (!progress.Initialized) return "Pending";
        if (main.Any(c => c["state"]?["running"] is not null)) return "Running";
        if (main.Any(c => c["state"]?["waiting"] is not null))
            return main.Any(c => c["lastState"]?["terminated"] is not null) ? "Running" : "Pending";
        return main.All(c => Obj.Long(c, "state", "terminated", "exitCode") == 0) ? "Succeeded" : "Failed";
    }

    static JsonObject Condition(JsonObject? old, string type, bool value)
    {
        var s = value ? "True" : "False";
        var previous = Obj.Items(old, "conditions").FirstOrDefault(c => Obj.Str(c, "type") == type);
        var since = previous is not null && Obj.Str(previous, "status") == s ? Obj.Str(previous, "lastTransitionTime") : null;
        return new JsonObject { ["type"] = type, ["status"] = s, ["lastProbeTime"] = null, ["lastTransitionTime"] = since ?? Obj.Time(DateTimeOffset.UtcNow) };
    }

    JsonObject ContainerStatusJson(JsonObject spec, Dictionary<string, List<ContainerStatus>> containers, bool init, PodProgress progress)
    {
        var name = Obj.Str(spec, "name")!;
        var instances = containers.GetValueOrDefault(name) ?? [];
        var latest = instances.FirstOrDefault();
        var previous = instances.Skip(1).FirstOrDefault();
        bool runningNow = latest?.State == ContainerState.ContainerRunning;
        var started = runningNow && (_probes.StartupDone(latest!.Id) ?? true);
        var result = new JsonObject
        {
            ["name"] = name,
            ["image"] = Obj.Str(spec, "image"),
            ["imageID"] = latest?.ImageRef ?? "",
            ["ready"] = started && (_probes.Ready(latest!.Id) ?? true),
            ["started"] = started,
            ["restartCount"] = (int)(latest?.Metadata.Attempt ?? 0),
        };
        if (latest is not null) result["containerID"] = "containerd://" + latest.Id;
        JsonObject state, last = new();
        if (!runningNow && _waiting.TryGetValue(name, out var w))
        {
            state = Waiting(w.Reason, w.Message);
            // A container waiting to restart shows its last run as lastState.
            if (latest?.State == ContainerState.ContainerExited) last = Terminated(latest);
            else if (previous is not null) last = Terminated(previous);
        }
        else
        {
            state = latest?.State switch
            {
                ContainerState.ContainerRunning => new JsonObject { ["running"] = new JsonObject { ["startedAt"] = Time(latest.StartedAt) } },
                ContainerState.ContainerExited => Terminated(latest),
                _ => Waiting(!init && !progress.Initialized && _sandboxError is null ? "PodInitializing" : "ContainerCreating", _sandboxError),
            };
            if (previous is not null) last = Terminated(previous);
        }
        result["state"] = state;
        result["lastState"] = last;
        return result;
    }

    static JsonObject Waiting(string reason, string? message)
    {
        var w = new JsonObject { ["reason"] = reason };
        if (message is not null) w["message"] = message;
        return new JsonObject { ["waiting"] = w };
    }

    static JsonObject Terminated(ContainerStatus c)
    {
        var t = new JsonObject
        {
            ["exitCode"] = c.ExitCode,
            ["reason"] = c.Reason is { Length: > 0 } r ? r : c.ExitCode == 0 ? "Completed" : "Error",
        };
        // A container that never ran (StartError) has the runtime's reason in the message, and no start time.
        if (c.Message is { Length: > 0 } m) t["message"] = m;
        if (Time(c.StartedAt) is { } started) t["startedAt"] = started;
        t["finishedAt"] = Time(c.FinishedAt);
        t["containerID"] = "containerd://" + c.Id;
        return new JsonObject { ["terminated"] = t };
    }

    static string? Time(long unixNanos) => unixNanos <= 0 ? null : Obj.Time(DateTimeOffset.FromUnixTimeMilliseconds(unixNanos / 1_000_000));
}
