// The pod worker's container steps: init containers in order, then the containers; restarts with back-off.
using System.Numerics;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Kubelet;

/// <summary>Where a sync left the pod: init containers all done, or one failed for good.</summary>
internal readonly record struct PodProgress(bool Initialized, bool InitFailed);

internal sealed partial class PodWorker
{
    async Task<PodProgress> ActAsync(JsonObject pod, string sandboxId, PodSandboxConfig sandbox, Dictionary<string, List<ContainerStatus>> running, CancellationToken ct)
    {
        var policy = Obj.Str(pod, "spec", "restartPolicy") ?? "Always";
        foreach (var init in Obj.Items(pod, "spec", "initContainers"))
        {
            var latest = Latest(running, init);
            if (latest is null)
            {
                await StartAsync(pod, init, sandboxId, sandbox, 0, running, ct);
                return new(false, false);
            }
            if (latest.State == ContainerState.ContainerExited && latest.ExitCode == 0) continue;
            if (latest.State == ContainerState.ContainerExited && policy == "Never") return new(false, true);
            if (latest.State == ContainerState.ContainerExited) await RestartAsync(pod, init, sandboxId, sandbox, latest, running, ct);
            return new(false, false);
        }
        foreach (var c in Obj.Items(pod, "spec", "containers"))
        {
            var latest = Latest(running, c);
            // Running containers are (re)announced to the probes: a new kubelet adopts them without starting them.
            if (latest?.State == ContainerState.ContainerRunning) _probes.Started(pod, latest.Metadata.Name, latest.Id);
            if (latest is null) await StartAsync(pod, c, sandboxId, sandbox, 0, running, ct);
            else if (latest.State == ContainerState.ContainerRunning && _probes.LivenessFailed(latest.Id))
            {
                _logger.LogInformation("pod {Uid}: container {Name} failed its liveness probe; killing it", _uid, latest.Metadata.Name);
                // The probe manager recorded the Killing Event; preStop runs within terminationGracePeriodSeconds.
                await KillAsync(pod, latest.Metadata.Name, latest.Id, _facts.PodIPs.FirstOrDefault() ?? "", Obj.Long(pod, "spec", "terminationGracePeriodSeconds") ?? 30, null, ct);
                Kick();
            }
            else if (latest.State is ContainerState.ContainerExited or ContainerState.ContainerCreated
                && (policy == "Always" || policy == "OnFailure" && latest.ExitCode != 0))
                await RestartAsync(pod, c, sandboxId, sandbox, latest, running, ct);
        }
        return new(true, false);
    }

    static ContainerStatus? Latest(Dictionary<string, List<ContainerStatus>> running, JsonObject spec) =>
        running.TryGetValue(Obj.Str(spec, "name") ?? "", out var l) ? l[0] : null;

    /// <summary>Starts the next attempt once the back-off since the last exit has passed, else reports CrashLoopBackOff.</summary>
    async Task RestartAsync(JsonObject pod, JsonObject spec, string sandboxId, PodSandboxConfig sandbox, ContainerStatus latest, Dictionary<string, List<ContainerStatus>> running, CancellationToken ct)
    {
        var name = Obj.Str(spec, "name")!;
        var delay = BackOff.For(latest.Metadata.Attempt);
        var finished = latest.FinishedAt > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(latest.FinishedAt / 1_000_000) : DateTimeOffset.UtcNow;
        var wait = finished + delay - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            var podName = $"{Obj.Str(pod, "metadata", "name")}_{Obj.Str(pod, "metadata", "namespace")}({_uid})";
            _waiting[name] = ("CrashLoopBackOff", $"back-off {BackOff.Go(delay)} restarting failed container={name} pod={podName}");
            Event(pod, EventRecorder.Warning, "BackOff", $"Back-off restarting failed container {name} in pod {podName}", name);
            _ = Task.Delay(wait, ct).ContinueWith(_ => Kick(), TaskScheduler.Default);
            return;
        }
        _probes.Stopped(latest.Id);
        await StartAsync(pod, spec, sandboxId, sandbox, latest.Metadata.Attempt + 1, running, ct);
    }

    /// <summary>Image check, inputs, CreateContainer, StartContainer; a failure becomes the container's waiting reason.</summary>
    async Task StartAsync(JsonObject pod, JsonObject spec, string sandboxId, PodSandboxConfig sandbox, uint attempt, Dictionary<string, List<ContainerStatus>> running, CancellationToken ct)
    {
        var name = Obj.Str(spec, "name")!;
        var image = Obj.Str(spec, "image") ?? "";
        // Present images are used whatever imagePullPolicy says: the node is offline, nothing is ever pulled.
        var present = (await _cri.Images.ImageStatusAsync(new() { Image = new ImageSpec { Image = image } }, cancellationToken: ct)).Image;
        if (present is null)
        {
            var failures = _pullFailures[name] = _pullFailures.GetValueOrDefault(name) + 1;
            var message = $"image \"{image}\" is not present on node {_options.NodeName}, and the node is offline: images are never pulled; preload the image onto the node";
            var reason = failures == 1 ? "ErrImagePull" : "ImagePullBackOff";
            _waiting[name] = (reason, message);
            // The check is retried every 2 s (an image imported meanwhile starts at once), but Events are written on
            // failures 1, 2, 4, 8, ...: a pod waiting for days costs a few dozen writes, not one every 2 s.
            if (BitOperations.IsPow2(failures))
            {
                if (failures == 1) Event(pod, EventRecorder.Warning, "Failed", $"Failed to pull image \"{image}\": {message}", name);
                else Event(pod, EventRecorder.Normal, "BackOff", $"Back-off pulling image \"{image}\"", name);
                Event(pod, EventRecorder.Warning, "Failed", $"Error: {reason}", name);
            }
            _ = Task.Delay(TimeSpan.FromSeconds(2), ct).ContinueWith(_ => Kick(), TaskScheduler.Default);
            return;
        }
        _pullFailures.Remove(name);
        Event(pod, EventRecorder.Normal, "Pulled", PullsAlways(spec, image)
            ? $"Container image \"{image}\" already present on machine; not pulled although imagePullPolicy is Always: node {_options.NodeName} is offline and never pulls"
            : $"Container image \"{image}\" already present on machine", name);
        ContainerInputs inputs;
        try
        {
            inputs = await _inputs.ResolveAsync(pod, spec, _facts, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // As upstream: a volume that cannot be set up keeps the pod ContainerCreating (its FailedMount event's text).
            if (e is Volumes.VolumeSetupException)
            {
                _waiting[name] = ("ContainerCreating", e.Message);
                Event(pod, EventRecorder.Warning, "FailedMount", e.Message);
            }
            else Fail(pod, name, "CreateContainerConfigError", e.Message, $"Error: {e.Message}");
            return;
        }
        // The kubelet keeps one dead instance per container (for lastState and `kubectl logs --previous`).
        if (running.TryGetValue(name, out var old))
            foreach (var dead in old.Skip(1).Where(c => c.State != ContainerState.ContainerRunning))
                await _cri.Runtime.RemoveContainerAsync(new() { ContainerId = dead.Id }, cancellationToken: ct);
        var config = CriConfigs.Container(pod, spec, attempt, inputs);
        string id;
        try
        {
            id = (await _cri.Runtime.CreateContainerAsync(new() { PodSandboxId = sandboxId, Config = config, SandboxConfig = sandbox }, cancellationToken: ct)).ContainerId;
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Unavailable)
        {
            Fail(pod, name, "CreateContainerError", e.Status.Detail, $"Error: {e.Status.Detail}");
            return;
        }
        Event(pod, EventRecorder.Normal, "Created", $"Created container {name}", name);
        if (_options.UnpackRoot is { } unpacked) await SyncUnpackedAsync(unpacked);
        try
        {
            await _cri.Runtime.StartContainerAsync(new() { ContainerId = id }, cancellationToken: ct);
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Unavailable)
        {
            Fail(pod, name, "RunContainerError", e.Status.Detail, $"Error: {e.Status.Detail}");
            return;
        }
        _waiting.Remove(name);
        Event(pod, EventRecorder.Normal, "Started", $"Started container {name}", name);
        if (!await PostStartAsync(pod, spec, id, ct)) return;
        _probes.Started(pod, name, id);
        _logger.LogInformation("pod {Uid}: container {Name} started ({Id}, restart {Attempt})", _uid, name, id[..12], attempt);
    }

    /// <summary>Syncs the file system of <see cref="KubeletOptions.UnpackRoot"/> (the layers containerd has just unpacked
    /// for a new container); a failure is logged, and the container starts anyway.</summary>
    async Task SyncUnpackedAsync(string root)
    {
        try
        {
            await Task.Run(() => Appliance.Common.AtomicFile.SyncFileSystem(root));
        }
        catch (IOException e)
        {
            _logger.LogWarning("pod {Uid}: {Error}", _uid, e.Message);
        }
    }

    /// <summary>Sets a container's waiting reason and records the Warning "Failed" Event upstream's kubelet records.</summary>
    void Fail(JsonObject pod, string name, string reason, string message, string eventMessage)
    {
        _waiting[name] = (reason, message);
        Event(pod, EventRecorder.Warning, "Failed", eventMessage, name);
    }

    /// <summary>
    /// True when upstream would pull this image on every start: imagePullPolicy Always, or no policy and the tag
    /// <c>latest</c> or none (an image by digest is IfNotPresent).
    /// </summary>
    static bool PullsAlways(JsonObject spec, string image)
    {
        if (Obj.Str(spec, "imagePullPolicy") is { Length: > 0 } policy) return policy == "Always";
        if (image.Contains('@')) return false;
        var lastSlash = image.LastIndexOf('/');
        var colon = image.IndexOf(':', lastSlash + 1);
        return colon < 0 || image[(colon + 1)..] == "latest";
    }
}
