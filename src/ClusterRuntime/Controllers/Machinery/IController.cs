// The contract every controller of the controller manager fulfils.
namespace Appliance.ClusterRuntime.Controllers.Machinery;

/// <summary>
/// A controller is built for one leadership term from a <see cref="ControllerContext"/>: its constructor asks for
/// the informers it needs and registers its handlers; <see cref="RunAsync"/> runs once they are synced and ends when
/// the term ends. All its state is rebuilt from the informers in the next term, so nothing is lost or done twice.
/// </summary>
public interface IController
{
    /// <summary>Name used in logs and as the event source, e.g. <c>deployment-controller</c>.</summary>
    string Name { get; }

    /// <summary>Works until <paramref name="ct"/> is cancelled.</summary>
    Task RunAsync(CancellationToken ct);
}
