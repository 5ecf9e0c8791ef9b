// Exponential back-off: the delay before the next try, doubling from Initial up to Max.
namespace Appliance.Firstboot.Device;

/// <summary>
/// How long to wait between tries: <see cref="Initial"/>, doubling each time up to <see cref="Max"/>. A supervised
/// process that ran at least <see cref="ResetAfter"/> before it ended starts again from <see cref="Initial"/>.
/// </summary>
public sealed record BackoffPolicy(TimeSpan Initial, TimeSpan Max, TimeSpan ResetAfter)
{
    /// <summary>1 s doubling to 60 s, reset after two minutes of stable running: the runtime supervisor's default.</summary>
    public static readonly BackoffPolicy Default = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), TimeSpan.FromMinutes(2));

    /// <summary>The delay after <paramref name="current"/>: twice it, at most <see cref="Max"/>.</summary>
    public TimeSpan Next(TimeSpan current) => TimeSpan.FromTicks(Math.Min(current.Ticks * 2, Max.Ticks));
}
