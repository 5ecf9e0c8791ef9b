// The crash-loop back-off: derived from CRI state (attempt and finish time), so it survives a kubelet restart.
namespace Appliance.ClusterRuntime.Agent.Kubelet;

/// <summary>The kubelet's container restart back-off: the first restart is immediate, then 10 s doubling to 5 min.</summary>
internal static class BackOff
{
    /// <summary>The longest back-off.</summary>
    public static readonly TimeSpan Max = TimeSpan.FromMinutes(5);

    /// <summary>How long to wait after the exit of the container that has restarted <paramref name="restartCount"/> times.</summary>
    public static TimeSpan For(uint restartCount) =>
        restartCount == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(Max.TotalSeconds, 10 * Math.Pow(2, Math.Min(restartCount - 1, 10))));

    /// <summary>A duration as Go prints it (10s, 1m20s, 5m0s): the form of kubectl's CrashLoopBackOff message.</summary>
    public static string Go(TimeSpan t) =>
        t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m{t.Seconds}s" : $"{(int)t.TotalSeconds}s";
}
