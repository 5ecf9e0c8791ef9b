// Waiting on a condition with a deadline, failing with what was last observed.
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Tests.Support;

/// <summary>
/// Polls a condition (every 100 ms unless told) instead of sleeping a fixed time; on timeout the failure says what
/// was awaited and what was last observed. The one wait helper of the tests: wrappers in test classes only shape
/// their probe and message.
/// </summary>
public static class Poll
{
    /// <summary>The default pause between probes.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Polls <paramref name="probe"/> until <paramref name="done"/> holds and returns that result; fails after
    /// <paramref name="timeout"/> with <paramref name="what"/> and the last result (<paramref name="describe"/>d, or
    /// as JSON / ToString).
    /// </summary>
    public static Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what,
        Func<T, string>? describe = null, TimeSpan? interval = null) =>
        LoopAsync(probe, done, timeout, interval ?? Interval,
            last => Task.FromResult($"timed out after {timeout.TotalSeconds:0.#} s waiting for {what}; last observed: {(describe ?? Describe)(last)}"),
            TestContext.Current.CancellationToken);

    /// <summary>
    /// Returns once <paramref name="condition"/> holds; fails after <paramref name="timeout"/> with
    /// <paramref name="what"/> and the state <paramref name="observed"/> reports at that moment.
    /// </summary>
    public static Task UntilAsync(string what, Func<Task<bool>> condition, TimeSpan timeout, Func<Task<string>> observed, CancellationToken ct) =>
        LoopAsync(condition, ok => ok, timeout, Interval,
            async _ => $"{what}: not within {timeout.TotalSeconds} s; observed: {await observed()}", ct);

    /// <summary>Checks for <paramref name="period"/> that <paramref name="holds"/> stays true; fails with the first result that breaks it.</summary>
    public static async Task StaysAsync<T>(Func<Task<T>> probe, Func<T, bool> holds, TimeSpan period, string what, Func<T, string>? describe = null)
    {
        var end = DateTime.UtcNow + period;
        while (DateTime.UtcNow < end)
        {
            var value = await probe();
            if (!holds(value)) Assert.Fail($"expected {what}; observed: {(describe ?? Describe)(value)}");
            await Task.Delay(Interval, TestContext.Current.CancellationToken);
        }
    }

    static async Task<T> LoopAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, TimeSpan interval,
        Func<T, Task<string>> failure, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await probe();
            if (done(value)) return value;
            if (DateTime.UtcNow > deadline) Assert.Fail(await failure(value));
            await Task.Delay(interval, ct);
        }
    }

    static string Describe<T>(T value) => value is JsonNode n ? n.ToJsonString() : value?.ToString() ?? "null";
}
