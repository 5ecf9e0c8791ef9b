// Runs the controllers and the scheduler in the server process, on one server at a time when several share a datastore.
using Appliance.ClusterRuntime.Api.Storage;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.Machinery;

/// <summary>
/// What kube-controller-manager and kube-scheduler are in K3s: one term at a time builds fresh shared informers, an
/// event recorder and every controller of <see cref="ControllerRegistry.All"/>, waits for the informers' first
/// lists, and runs the controllers until the term ends. With <c>elect</c> (servers sharing a PostgreSQL datastore)
/// a term lasts as long as this server holds the leader Lease; alone on SQLite it lasts until shutdown.
/// </summary>
public sealed class ControllerManager(ObjectStore store, ControllerOptions options, ILoggerFactory loggers, bool elect)
{
    readonly ILogger _logger = loggers.CreateLogger("Appliance.ClusterRuntime.Controllers");

    /// <summary>This server's identity as a leader candidate and event reporter.</summary>
    public string Identity { get; } = $"{Environment.MachineName}_{Guid.NewGuid():N}";

    /// <summary>The controllers to run; defaults to <see cref="ControllerRegistry.All"/> (tests may pick).</summary>
    public IReadOnlyList<Func<ControllerContext, IController>> Controllers { get; init; } = ControllerRegistry.All;

    /// <summary>Completes the first time a term's informers are synced and its controllers started.</summary>
    public Task Started => _started.Task;

    readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Runs until <paramref name="ct"/> is cancelled.</summary>
    public Task RunAsync(CancellationToken ct) =>
        elect ? new LeaderElector(store, Identity, _logger).RunAsync(RunTermAsync, ct) : RunTermAsync(ct);

    async Task RunTermAsync(CancellationToken ct)
    {
        var informers = new SharedInformers(store.Backend, _logger);
        var events = new EventRecorder(new StoreEventSink(store), store.Clock, Identity, _logger);
        var context = new ControllerContext(store, informers, events, options, loggers);
        var controllers = Controllers.Select(make => make(context)).ToList();
        var background = new[]
        {
            Task.Run(() => informers.RunAsync(ct), CancellationToken.None),
            Task.Run(() => events.RunAsync(ct), CancellationToken.None),
        };
        try
        {
            await informers.WaitForSyncAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await Task.WhenAll(background);
            return;
        }
        _started.TrySetResult();
        var running = controllers.Select(c => Task.Run(() => RunOneAsync(c, ct), CancellationToken.None));
        await Task.WhenAll(running.Concat(background));
    }

    async Task RunOneAsync(IController controller, CancellationToken ct)
    {
        try
        {
            await controller.RunAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // A controller that fails is a bug; the others keep working and the failure is loud.
            _logger.LogError(e, "controller {Controller} stopped with an error", controller.Name);
        }
    }
}
