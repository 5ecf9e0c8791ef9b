// Waiting on a condition with a deadline, failing with what was last observed.
namespace Appliance.ClusterRuntime.Tests.Support;

/// <summary>Polls a condition every 100 ms instead of sleeping a fixed time.</summary>
public static class Poll
{
    /// <summary>
    /// Returns once <paramref name="condition"/> holds; fails after <paramref name="timeout"/> with
    /// <paramref name="what"/> and the state <paramref name="observed"/> reports at that moment.
    /// </summary>
    public static async Task UntilAsync(string what, Func<Task<bool>> condition, TimeSpan timeout, Func<Task<string>> observed, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition()) return;
            if (DateTime.UtcNow > deadline) Assert.Fail($"{what}: not within {timeout.TotalSeconds} s; observed: {await observed()}");
            await Task.Delay(100, ct);
        }
    }
}
