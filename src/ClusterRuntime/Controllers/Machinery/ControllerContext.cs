// What a controller is given: the store, the shared informers, the event recorder, options and loggers.
using Appliance.ClusterRuntime.Api.Storage;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.Machinery;

/// <summary>Everything one leadership term's controllers share.</summary>
/// <param name="Store">Reads and writes go through the same storage as API requests (validation, defaults, finalizers).</param>
/// <param name="Informers">The term's shared informers.</param>
/// <param name="Events">Event recorder.</param>
/// <param name="Options">Cluster settings.</param>
/// <param name="Loggers">Logger factory.</param>
public sealed record ControllerContext(ObjectStore Store, SharedInformers Informers, EventRecorder Events, ControllerOptions Options, ILoggerFactory Loggers)
{
    /// <summary>The clock of time-driven logic (<see cref="ControllerOptions.Clock"/>).</summary>
    public TimeProvider Clock => Options.Clock;

    /// <summary>A logger named after the controller.</summary>
    public ILogger Logger(string controller) => Loggers.CreateLogger("Appliance.ClusterRuntime.Controllers." + controller);
}
