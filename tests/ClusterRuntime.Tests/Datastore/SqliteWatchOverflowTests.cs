// A watcher that falls behind its buffer is switched to catching up from the log, without losing or repeating events.
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Datastore.Sqlite;

namespace Appliance.ClusterRuntime.Tests.Datastore;

public sealed class SqliteWatchOverflowTests : IDisposable
{
    private readonly TempDir _dir = new("datastore-overflow-");

    public void Dispose() => _dir.Dispose();

    [Fact, Trait("Category", "RoundTrip")]
    public async Task SlowWatcherCatchesUpFromTheLogAfterOverflow()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var store = new SqliteBackend(new SqliteBackendOptions { DataDir = _dir.Path, WatchBuffer = 8 });
        await store.StartAsync(ct);
        var from = await store.CurrentRevisionAsync(ct);
        await using var watch = store.WatchAsync("/registry/configmaps/", from, ct).GetAsyncEnumerator(ct);
        // The first MoveNext subscribes; nothing is read after it while 500 writes overflow the 8-event buffer.
        var first = watch.MoveNextAsync().AsTask();
        var revs = new List<long>();
        for (var i = 0; i < 500; i++) revs.Add(await store.CreateAsync($"/registry/configmaps/ns/k{i:D4}", [1], ct: ct));
        Assert.True(await first);
        var seen = new List<long> { watch.Current.Kv.ModRevision };
        while (seen.Count < revs.Count && await watch.MoveNextAsync()) seen.Add(watch.Current.Kv.ModRevision);
        Assert.Equal(revs, seen);
    }
}
