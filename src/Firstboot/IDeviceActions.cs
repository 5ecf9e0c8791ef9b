// The device-only parts of first boot (steps 3, 5, 7), behind one interface so a host test can replace them.
using Appliance.Firstboot.Site;

namespace Appliance.Firstboot;

/// <summary>
/// What first boot does to the running device rather than to its disk: hostname, network and time servers (step 3),
/// starting and supervising containerd and <c>appliance-runtime</c> (step 5), waiting for the node to be Ready
/// (step 7), and powering off after an install. The device implementation lives in <c>Device/</c>; <see cref="DisabledDeviceActions"/> skips them (host
/// tests on a loop device); <see cref="OnDeviceActions"/> runs them on the device. Each method's exceptions end first boot with their message as the reason.
/// </summary>
public interface IDeviceActions
{
    /// <summary>Sets the hostname, configures the interfaces (static or DHCP) and the time servers from the profile.</summary>
    Task ConfigureNetworkAsync(SiteConfig site, CancellationToken ct);

    /// <summary>
    /// Starts containerd and the runtime as <paramref name="launch"/> describes, and keeps them running (restarted
    /// with back-off) until the returned supervisor is disposed. Returns once both processes are started.
    /// </summary>
    Task<IRuntimeSupervisor> StartRuntimeAsync(RuntimeLaunch launch, CancellationToken ct);

    /// <summary>Waits, with retries and back-off, until the node is Ready; each failed try is reported through <paramref name="progress"/>.</summary>
    Task<NodeReadiness> WaitReadyAsync(RuntimeLaunch launch, IProgress<string> progress, CancellationToken ct);

    /// <summary>
    /// Asks the machine to power off (the installer, once the disk is written and checked). Returns once asked;
    /// the caller then waits to be stopped. Throws when the request itself failed.
    /// </summary>
    Task PowerOffAsync(CancellationToken ct);
}

/// <summary>A started runtime under supervision.</summary>
public interface IRuntimeSupervisor : IAsyncDisposable
{
    /// <summary>Completes when supervision ends (disposed, or given up with an exception naming the reason).</summary>
    Task Completion { get; }

    /// <summary>Why the runtime last stopped, or null.</summary>
    string? LastFailure { get; }
}

/// <summary>Everything the runtime is started with; the paths follow the device contract (DATA/runtime, DATA/secrets).</summary>
/// <param name="Site">The site configuration (document 1).</param>
/// <param name="Role">server or agent.</param>
/// <param name="NodeName">The node name (the profile's hostname).</param>
/// <param name="DataDir">The runtime's <c>--data-dir</c>: DATA/runtime (server) or DATA/runtime/agent (agent).</param>
/// <param name="TokenFile">The token: DATA/runtime/token (server) or DATA/secrets/token (agent, <c>--token-file</c>); null without one.</param>
/// <param name="ServerUrl">An agent's server URL; null for a server.</param>
/// <param name="ManifestsDir">The server's auto-deploy directory (DATA/runtime/manifests).</param>
/// <param name="LogsDir">DATA/logs, for the runtime's and containerd's logs.</param>
/// <param name="ApiAddress">The API address shown in the status.</param>
public sealed record RuntimeLaunch(SiteConfig Site, string Role, string NodeName, string DataDir, string? TokenFile, string? ServerUrl,
    string ManifestsDir, string LogsDir, string ApiAddress);

/// <summary>The node's state as the wait found it.</summary>
/// <param name="State">Ready, NotReady, or Disabled (device actions off).</param>
/// <param name="Reason">Why it is not Ready, or null.</param>
public sealed record NodeReadiness(string State, string? Reason)
{
    /// <summary>Whether the boot may be blessed: Ready, or nothing to wait for (device actions off).</summary>
    public bool Good => State is "Ready" or "Disabled";
}

/// <summary>Device actions switched off (<c>--device-actions off</c>): each step is logged as skipped.</summary>
public sealed class DisabledDeviceActions(Action<string> log) : IDeviceActions
{
    /// <inheritdoc/>
    public Task ConfigureNetworkAsync(SiteConfig site, CancellationToken ct)
    {
        log($"network: skipped (device actions off): hostname {site.Hostname}");
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<IRuntimeSupervisor> StartRuntimeAsync(RuntimeLaunch launch, CancellationToken ct)
    {
        log($"runtime: not started (device actions off): {launch.Role} with --data-dir {launch.DataDir}");
        return Task.FromResult<IRuntimeSupervisor>(new Nothing());
    }

    /// <inheritdoc/>
    public Task<NodeReadiness> WaitReadyAsync(RuntimeLaunch launch, IProgress<string> progress, CancellationToken ct) =>
        Task.FromResult(new NodeReadiness("Disabled", null));

    /// <inheritdoc/>
    public Task PowerOffAsync(CancellationToken ct)
    {
        log("power off: skipped (device actions off)");
        return Task.CompletedTask;
    }

    private sealed class Nothing : IRuntimeSupervisor
    {
        public Task Completion => Task.CompletedTask;
        public string? LastFailure => null;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>Makes the device actions <c>--device-actions</c> names.</summary>
public static class DeviceActions
{
    /// <summary>The kinds: <c>device</c> (the default) and <c>off</c>.</summary>
    public static readonly string[] Kinds = ["device", "off"];

    /// <summary>The actions of <paramref name="kind"/>.</summary>
    public static IDeviceActions Create(string kind, FirstbootPaths paths, Action<string> log) => kind switch
    {
        "off" => new DisabledDeviceActions(log),
        "device" => new OnDeviceActions(paths, log),
        _ => throw new ArgumentException($"--device-actions {kind}: expected one of {string.Join(", ", Kinds)}"),
    };
}
