// TEST ONLY: a clock that runs N times faster than the system clock from the moment it is made (--test-clock-speed).
namespace Appliance.ClusterRuntime.Server;

/// <summary>
/// For tests of time-driven controllers (a CronJob's <c>*/1 * * * *</c> fires every second at speed 60): now is the
/// creation instant plus <paramref name="speed"/> times the real time since, and timers wait 1/speed of their
/// period. Only the controllers' clock (<see cref="Controllers.Machinery.ControllerOptions.Clock"/>) is scaled;
/// object timestamps written by the API keep the system clock. Never for production: every controller's deadlines
/// (node monitor grace, Job back-off) shrink with it.
/// </summary>
public sealed class ScaledClock(double speed) : TimeProvider
{
    readonly DateTimeOffset _origin = System.GetUtcNow();
    readonly long _start = System.GetTimestamp();

    /// <summary>How many times faster than real time.</summary>
    public double Speed => speed;

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => _origin + System.GetElapsedTime(_start) * speed;

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        System.CreateTimer(callback, state, Scale(dueTime), Scale(period));

    TimeSpan Scale(TimeSpan t) => t == Timeout.InfiniteTimeSpan || t <= TimeSpan.Zero ? t : t / speed;
}
