// The pod worker's lifecycle hooks and container kills: postStart after StartContainer, preStop inside the grace period.
using System.Diagnostics;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Kubelet;

internal sealed partial class PodWorker
{
    /// <summary>After StopContainer's grace period ends, runc gets SIGKILL; upstream never gives less than 2 s after a preStop hook.</summary>
    const long MinimumGraceAfterPreStop = 2;

    /// <summary>The container spec named <paramref name="name"/> (init containers too), or null.</summary>
    static JsonObject? ContainerSpec(JsonObject? pod, string name) =>
        Obj.Items(pod, "spec", "containers").Concat(Obj.Items(pod, "spec", "initContainers")).FirstOrDefault(c => Obj.Str(c, "name") == name);

    /// <summary>
    /// Runs the postStart hook of a container just started (as upstream, with no time limit, before the container counts
    /// as started). A failure is a <c>FailedPostStartHook</c> Event and the container is killed; restartPolicy applies.
    /// Returns false when it was killed.
    /// </summary>
    async Task<bool> PostStartAsync(JsonObject pod, JsonObject spec, string id, CancellationToken ct)
    {
        if (Obj.Object(spec, "lifecycle", "postStart") is not { } hook) return true;
        var name = Obj.Str(spec, "name")!;
        var error = await _probes.RunHookAsync(spec, hook, id, _facts.PodIPs.FirstOrDefault() ?? "", Timeout.InfiniteTimeSpan, ct);
        if (error is null) return true;
        var message = HookFailure(pod, name, hook, error);
        _logger.LogWarning("pod {Uid}: {Message}", _uid, message);
        Event(pod, EventRecorder.Warning, "FailedPostStartHook", message, name);
        await KillAsync(pod, name, id, _facts.PodIPs.FirstOrDefault() ?? "", GracePeriod(pod), $"Container {name} FailedPostStartHook", ct);
        return false;
    }

    /// <summary>
    /// Stops a container as upstream's killContainer: the preStop hook first (its time counts against
    /// <paramref name="grace"/>; a failure is a <c>FailedPreStopHook</c> Event), then StopContainer with what is left
    /// (at least 2 s after a hook): SIGTERM, then SIGKILL when that runs out. <paramref name="killing"/> is the
    /// <c>Killing</c> Event's message (null: none, the caller recorded it).
    /// </summary>
    async Task KillAsync(JsonObject? pod, string name, string id, string podIp, long grace, string? killing, CancellationToken ct)
    {
        if (pod is not null && killing is not null) Event(pod, EventRecorder.Normal, "Killing", killing, name);
        var spec = ContainerSpec(pod, name);
        if (pod is not null && spec is not null && grace > 0 && Obj.Object(spec, "lifecycle", "preStop") is { } hook)
        {
            var started = Stopwatch.GetTimestamp();
            var error = await _probes.RunHookAsync(spec, hook, id, podIp, TimeSpan.FromSeconds(grace), ct);
            if (error is not null)
            {
                var message = HookFailure(pod, name, hook, error);
                _logger.LogWarning("pod {Uid}: {Message}", _uid, message);
                Event(pod, EventRecorder.Warning, "FailedPreStopHook", message, name);
            }
            grace = Math.Max(MinimumGraceAfterPreStop, grace - (long)Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        await _cri.Runtime.StopContainerAsync(new() { ContainerId = id, Timeout = grace }, cancellationToken: ct);
        _probes.Stopped(id);
    }

    /// <summary>The grace period of a deletion (<c>deletionGracePeriodSeconds</c>) or of a kill (<c>terminationGracePeriodSeconds</c>), else 30.</summary>
    static long GracePeriod(JsonObject? pod) =>
        Obj.Long(pod, "metadata", "deletionGracePeriodSeconds") ?? Obj.Long(pod, "spec", "terminationGracePeriodSeconds") ?? 30;

    /// <summary>Upstream's words for a failed hook: <c>Exec lifecycle hook ([cmd]) for Container "c" in Pod "p_ns(uid)" failed - error: …</c>.</summary>
    string HookFailure(JsonObject pod, string name, JsonObject hook, string error)
    {
        var what = Obj.Object(hook, "exec") is { } exec ? $"Exec lifecycle hook ([{string.Join(" ", Obj.At(exec, "command") as JsonArray ?? [])}])"
            : Obj.Object(hook, "httpGet") is { } get ? $"HTTP lifecycle hook ({Obj.Str(get, "path") ?? "/"})"
            : Obj.Object(hook, "sleep") is not null ? "Sleep lifecycle hook"
            : "Lifecycle hook";
        return $"{what} for Container \"{name}\" in Pod \"{Obj.Str(pod, "metadata", "name")}_{Obj.Str(pod, "metadata", "namespace")}({_uid})\" failed - error: {error}";
    }
}
