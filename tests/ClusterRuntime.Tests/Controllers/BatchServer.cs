// A server process with one simulated node for the Job and CronJob tests (server flags chosen per test class).
using Appliance.ClusterRuntime.Tests.Support;
using k8s;

namespace Appliance.ClusterRuntime.Tests.Controllers;

/// <summary>One server and one <see cref="SimulatedNode"/> named <see cref="NodeName"/> per test class.</summary>
public abstract class BatchServer : IAsyncLifetime
{
    readonly TempDir _dir = new();
    RuntimeProcess? _server;
    SimulatedNode? _node;

    /// <summary>The simulated node pods are bound to.</summary>
    public const string NodeName = "batch-node";

    /// <summary>Extra server flags.</summary>
    protected abstract string[] Flags { get; }

    /// <summary>The running server.</summary>
    public RuntimeProcess Server => _server ?? throw new InvalidOperationException("server not started");

    /// <summary>kubectl bound to the server.</summary>
    public Support.Kubectl Kubectl { get; private set; } = null!;

    /// <summary>A client of the server.</summary>
    public IKubernetes Client { get; private set; } = null!;

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        _server = await RuntimeProcess.StartAsync(Path.Combine(_dir.Path, "data"), RuntimeProcess.FreePort(), Flags);
        var cache = Path.Combine(_dir.Path, "kube-cache");
        Directory.CreateDirectory(cache);
        Kubectl = new Support.Kubectl(_server.KubeconfigPath, cache);
        Client = BatchTestSupport.Client(_server);
        _node = await SimulatedNode.StartAsync(Client, NodeName, 7);
        _node.Outcome = BatchTestSupport.OutcomeByLabel;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_node is not null) await _node.DisposeAsync();
        if (_server is not null) await _server.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>The Job tests' server: real time.</summary>
public sealed class JobServer : BatchServer
{
    /// <inheritdoc />
    protected override string[] Flags => [];
}

/// <summary>
/// The CronJob tests' server: the controllers' clock runs 60 times faster (a minute a second). Node monitoring
/// runs on that clock too, so its grace and toleration are made long enough not to evict the simulated node's pods.
/// </summary>
public sealed class CronJobServer : BatchServer
{
    /// <inheritdoc />
    protected override string[] Flags => ["--test-clock-speed", "60", "--node-monitor-grace-period", "1000h", "--default-toleration-seconds", "360000000"];
}
