// Waiting on a condition with a deadline, failing with what was last observed.
namespace Appliance.ClusterRuntime.Tests.Controllers;

/// <summary>Polls a probe until its result satisfies a condition; on timeout the failure shows the last result.</summary>
public static class Eventually
{
    /// <summary>Polls <paramref name="probe"/> every 100 ms until <paramref name="done"/> holds; returns that result.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what, Func<T, string>? describe = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await probe();
            if (done(value)) return value;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"timed out after {timeout.TotalSeconds:0} s waiting for {what}; last observed: {(describe ?? (v => v?.ToString() ?? "null"))(value)}");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Checks for <paramref name="period"/> that <paramref name="holds"/> stays true; fails with the first result that breaks it.</summary>
    public static async Task StaysAsync<T>(Func<Task<T>> probe, Func<T, bool> holds, TimeSpan period, string what, Func<T, string>? describe = null)
    {
        var end = DateTime.UtcNow + period;
        while (DateTime.UtcNow < end)
        {
            var value = await probe();
            if (!holds(value)) Assert.Fail($"expected {what}; observed: {(describe ?? (v => v?.ToString() ?? "null"))(value)}");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }
}
