// The backend contract suite, written once and run against every IBackend implementation.
using System.Text;
using Appliance.ClusterRuntime.Datastore;

namespace Appliance.ClusterRuntime.Tests.Datastore;

/// <summary>Behaviour every <see cref="IBackend"/> must show; subclasses supply a fresh, empty store per test.</summary>
public abstract class BackendTests : IAsyncLifetime
{
    private IBackend? _store;

    /// <summary>The store under test, started.</summary>
    protected IBackend Store => _store ?? throw new InvalidOperationException("not initialized");

    /// <summary>Creates a fresh, empty, not yet started store.</summary>
    protected abstract Task<IBackend> CreateAsync();

    /// <summary>Releases what <see cref="CreateAsync"/> made (after the store is disposed).</summary>
    protected virtual Task CleanupAsync() => Task.CompletedTask;

    public async ValueTask InitializeAsync()
    {
        _store = await CreateAsync();
        await _store.StartAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_store is not null) await _store.DisposeAsync();
        await CleanupAsync();
        GC.SuppressFinalize(this);
    }

    protected static byte[] V(string s) => Encoding.UTF8.GetBytes(s);

    protected static string S(byte[] b) => Encoding.UTF8.GetString(b);

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact, Trait("Category", "RoundTrip")]
    public async Task CreateGetUpdateDelete()
    {
        var r1 = await Store.CreateAsync("/registry/configmaps/default/a", V("one"), ct: Ct);
        Assert.Equal(r1, await Store.CurrentRevisionAsync(Ct));
        var (_, kv) = await Store.GetAsync("/registry/configmaps/default/a", ct: Ct);
        Assert.NotNull(kv);
        Assert.Equal("one", S(kv.Value));
        Assert.Equal(r1, kv.CreateRevision);
        Assert.Equal(r1, kv.ModRevision);

        await Assert.ThrowsAsync<KeyExistsException>(() => Store.CreateAsync("/registry/configmaps/default/a", V("again"), ct: Ct));

        var (r2, kv2, updated) = await Store.UpdateAsync("/registry/configmaps/default/a", V("two"), r1, ct: Ct);
        Assert.True(updated);
        Assert.True(r2 > r1);
        Assert.Equal("two", S(kv2!.Value));
        Assert.Equal(r1, kv2.CreateRevision);
        Assert.Equal(r2, kv2.ModRevision);

        var (_, gone, deleted) = await Store.DeleteAsync("/registry/configmaps/default/a", r1, Ct);
        Assert.False(deleted);
        Assert.Equal("two", S(gone!.Value));
        var (r3, old, deleted2) = await Store.DeleteAsync("/registry/configmaps/default/a", r2, Ct);
        Assert.True(deleted2);
        Assert.True(r3 > r2);
        Assert.Equal("two", S(old!.Value));
        Assert.Null((await Store.GetAsync("/registry/configmaps/default/a", ct: Ct)).Kv);

        // The history is still there: read at the revision before the delete.
        var (_, before) = await Store.GetAsync("/registry/configmaps/default/a", r2, Ct);
        Assert.Equal("two", S(before!.Value));
        var (_, first) = await Store.GetAsync("/registry/configmaps/default/a", r1, Ct);
        Assert.Equal("one", S(first!.Value));

        // Re-create after delete starts a new life.
        var r4 = await Store.CreateAsync("/registry/configmaps/default/a", V("three"), ct: Ct);
        Assert.Equal(r4, (await Store.GetAsync("/registry/configmaps/default/a", ct: Ct)).Kv!.CreateRevision);
        var (_, missing, ok) = await Store.UpdateAsync("/registry/configmaps/default/none", V("x"), 1, ct: Ct);
        Assert.False(ok);
        Assert.Null(missing);
    }

    [Fact, Trait("Category", "RoundTrip")]
    public async Task ConcurrentUpdatesFromSameRevisionExactlyOneWins()
    {
        var r1 = await Store.CreateAsync("/registry/configmaps/default/c", V("base"), ct: Ct);
        var start = new TaskCompletionSource();
        var tasks = Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            await start.Task;
            return await Store.UpdateAsync("/registry/configmaps/default/c", V($"writer-{i}"), r1, ct: Ct);
        })).ToArray();
        start.SetResult();
        var results = await Task.WhenAll(tasks);
        var winners = results.Where(r => r.Updated).ToArray();
        Assert.Single(winners);
        foreach (var loser in results.Where(r => !r.Updated))
        {
            // The loser learns the winner's value and revision (what the API returns with its 409).
            Assert.Equal(winners[0].Kv!.ModRevision, loser.Kv!.ModRevision);
            Assert.Equal(S(winners[0].Kv!.Value), S(loser.Kv.Value));
        }
    }

    [Fact, Trait("Category", "RoundTrip")]
    public async Task ListWithPrefixLimitStartKeyAndRevision()
    {
        for (var i = 0; i < 5; i++) await Store.CreateAsync($"/registry/pods/ns/p{i}", V($"v{i}"), ct: Ct);
        await Store.CreateAsync("/registry/pods/nsx/q", V("other"), ct: Ct);
        await Store.CreateAsync("/registry/podsx", V("not-a-child"), ct: Ct);
        var mid = await Store.CurrentRevisionAsync(Ct);
        var p2 = await Store.GetAsync("/registry/pods/ns/p2", ct: Ct);
        await Store.UpdateAsync("/registry/pods/ns/p2", V("changed"), p2.Kv!.ModRevision, ct: Ct);
        await Store.DeleteAsync("/registry/pods/ns/p4", ct: Ct);

        var all = await Store.ListAsync("/registry/pods/ns/", ct: Ct);
        Assert.Equal(["p0", "p1", "p2", "p3"], all.Items.Select(k => k.Key[^2..]));
        Assert.Equal("changed", S(all.Items[2].Value));
        Assert.False(all.More);
        Assert.Equal(await Store.CurrentRevisionAsync(Ct), all.Revision);

        var page1 = await Store.ListAsync("/registry/pods/ns/", limit: 2, ct: Ct);
        Assert.True(page1.More);
        Assert.Equal(["p0", "p1"], page1.Items.Select(k => k.Key[^2..]));
        var page2 = await Store.ListAsync("/registry/pods/ns/", page1.Items[^1].Key + "\0", 2, page1.Revision, Ct);
        Assert.Equal(["p2", "p3"], page2.Items.Select(k => k.Key[^2..]));
        Assert.False(page2.More);

        var old = await Store.ListAsync("/registry/pods/ns/", revision: mid, ct: Ct);
        Assert.Equal(mid, old.Revision);
        Assert.Equal(["p0", "p1", "p2", "p3", "p4"], old.Items.Select(k => k.Key[^2..]));
        Assert.Equal("v2", S(old.Items[2].Value));

        var oldPage = await Store.ListAsync("/registry/pods/ns/", "/registry/pods/ns/p3", 1, mid, Ct);
        Assert.Equal(["p3"], oldPage.Items.Select(k => k.Key[^2..]));
        Assert.True(oldPage.More);

        Assert.Equal(6, (await Store.ListAsync("/registry/", ct: Ct)).Items.Count);
        Assert.Equal(4, (await Store.CountAsync("/registry/pods/ns/", Ct)).Count);
        Assert.Equal(5, (await Store.CountAsync("/registry/pods/", Ct)).Count);
        Assert.Equal(6, (await Store.CountAsync("", Ct)).Count);

        var now = await Store.CurrentRevisionAsync(Ct);
        await Assert.ThrowsAsync<FutureRevisionException>(() => Store.ListAsync("/registry/", revision: now + 10, ct: Ct));
    }

    [Fact, Trait("Category", "RoundTrip")]
    public async Task WatchDeliversTenThousandWritesInOrderWithoutGapsOrDuplicates()
    {
        const int writers = 8, perWriter = 1250;
        var from = await Store.CurrentRevisionAsync(Ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromMinutes(2));
        var live = Collect(Store.WatchAsync("/registry/configmaps/", from, cts.Token), writers * perWriter);

        var acked = new System.Collections.Concurrent.ConcurrentDictionary<long, (WatchEventType Type, string Key)>();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            long rev = 0;
            var key = $"/registry/configmaps/w{w}/k";
            for (var i = 0; i < perWriter; i++)
            {
                if (i % 25 == 0)
                {
                    rev = await Store.CreateAsync(key + i, V($"{w}-{i}"), ct: cts.Token);
                    acked[rev] = (WatchEventType.Create, key + i);
                    key += i;
                }
                else if (i % 25 == 24)
                {
                    var (r, _, ok) = await Store.DeleteAsync(key, rev, cts.Token);
                    Assert.True(ok);
                    acked[r] = (WatchEventType.Delete, key);
                    key = $"/registry/configmaps/w{w}/k";
                }
                else
                {
                    var (r, _, ok) = await Store.UpdateAsync(key, V($"{w}-{i}"), rev, ct: cts.Token);
                    Assert.True(ok);
                    rev = r;
                    acked[r] = (WatchEventType.Update, key);
                }
            }
        })));
        Assert.Equal(writers * perWriter, acked.Count);

        var events = await live;
        AssertContinuous(events, from, acked);

        // A watch started now from the middle catches up from the log and gives exactly the rest.
        var middle = events[events.Count / 2].Kv.ModRevision;
        var rest = await Collect(Store.WatchAsync("/registry/configmaps/", middle, cts.Token), events.Count - events.Count / 2 - 1);
        AssertContinuous(rest, middle, acked);
    }

    private static void AssertContinuous(List<WatchEvent> events, long from, IReadOnlyDictionary<long, (WatchEventType Type, string Key)> acked)
    {
        var expected = acked.Keys.Where(r => r > from).Order().ToList();
        Assert.Equal(expected, events.Select(e => e.Kv.ModRevision).ToList());
        foreach (var e in events)
        {
            Assert.Equal(acked[e.Kv.ModRevision].Type, e.Type);
            Assert.Equal(acked[e.Kv.ModRevision].Key, e.Kv.Key);
        }
    }

    protected static Task<List<WatchEvent>> Collect(IAsyncEnumerable<WatchEvent> watch, int count) => WatchCollector.Collect(watch, count);

    [Fact, Trait("Category", "RoundTrip")]
    public async Task ListsUnderConcurrentWritesHoldNothingNewerThanTheirRevision()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !cts.IsCancellationRequested; i++)
                await Store.CreateAsync($"/registry/pods/w{w}/p{i:D6}", V("x"), ct: CancellationToken.None);
        })).ToArray();
        try
        {
            for (var round = 0; round < 40; round++)
            {
                if (round == 0) await Task.Delay(200, Ct);
                var list = await Store.ListAsync("/registry/pods/", ct: Ct);
                Assert.All(list.Items, kv => Assert.True(kv.ModRevision <= list.Revision, $"{kv.Key} at {kv.ModRevision} in a list at {list.Revision}"));
                // Everything the list missed arrives on a watch from its revision, and nothing it had arrives again.
                var next = await Collect(Store.WatchAsync("/registry/pods/", list.Revision, Ct), 1);
                Assert.True(next[0].Kv.ModRevision > list.Revision);
                Assert.DoesNotContain(list.Items, kv => kv.Key == next[0].Kv.Key);
            }
        }
        finally
        {
            await cts.CancelAsync();
            await Task.WhenAll(writers);
        }
    }

    [Fact, Trait("Category", "RoundTrip")]
    public async Task WatchReportsPreviousValuesAndDeletes()
    {
        var from = await Store.CurrentRevisionAsync(Ct);
        var r1 = await Store.CreateAsync("/registry/secrets/a/b", V("1"), ct: Ct);
        var (r2, _, _) = await Store.UpdateAsync("/registry/secrets/a/b", V("2"), r1, ct: Ct);
        var (r3, _, _) = await Store.DeleteAsync("/registry/secrets/a/b", 0, Ct);
        await Store.CreateAsync("/registry/configmaps/a/b", V("elsewhere"), ct: Ct);
        var events = await Collect(Store.WatchAsync("/registry/secrets/", from, Ct), 3);
        Assert.Equal([WatchEventType.Create, WatchEventType.Update, WatchEventType.Delete], events.Select(e => e.Type));
        Assert.Equal([r1, r2, r3], events.Select(e => e.Kv.ModRevision));
        Assert.Null(events[0].PrevKv);
        Assert.Equal("1", S(events[1].PrevKv!.Value));
        Assert.Equal("2", S(events[2].Kv.Value));
        Assert.Equal(r2, events[2].PrevKv!.ModRevision);
    }

    [Fact, Trait("Category", "RoundTrip")]
    public async Task CompactionThenCompactedForListGetAndWatch()
    {
        var r1 = await Store.CreateAsync("/registry/configmaps/x/a", V("1"), ct: Ct);
        var (r2, _, _) = await Store.UpdateAsync("/registry/configmaps/x/a", V("2"), r1, ct: Ct);
        var rb = await Store.CreateAsync("/registry/configmaps/x/b", V("b"), ct: Ct);
        await Store.DeleteAsync("/registry/configmaps/x/b", ct: Ct);
        var (r3, _, _) = await Store.UpdateAsync("/registry/configmaps/x/a", V("3"), r2, ct: Ct);
        var rc = await Store.CreateAsync("/registry/configmaps/x/c", V("c"), ct: Ct);

        await Store.CompactAsync(r3, Ct);
        Assert.Equal(r3, Store.CompactRevision);
        var gone = await Assert.ThrowsAsync<CompactedException>(() => Store.ListAsync("/registry/configmaps/", revision: r2, ct: Ct));
        Assert.Equal(r3, gone.Compacted);
        await Assert.ThrowsAsync<CompactedException>(() => Store.ListAsync("/registry/configmaps/", revision: r3, ct: Ct));
        await Assert.ThrowsAsync<CompactedException>(() => Store.GetAsync("/registry/configmaps/x/a", rb, Ct));
        await Assert.ThrowsAsync<CompactedException>(async () =>
        {
            await foreach (var _ in Store.WatchAsync("/registry/configmaps/", r1, Ct)) { }
        });

        // Reads above the compact revision and at the newest one still work.
        var at = await Store.ListAsync("/registry/configmaps/", revision: rc, ct: Ct);
        Assert.Equal(["a:3", "c:c"], at.Items.Select(k => k.Key[^1..] + ":" + S(k.Value)));
        var (r4, _, _) = await Store.UpdateAsync("/registry/configmaps/x/a", V("4"), r3, ct: Ct);
        var after = await Collect(Store.WatchAsync("/registry/configmaps/", r3, Ct), 2);
        Assert.Equal([rc, r4], after.Select(e => e.Kv.ModRevision));
        Assert.Equal("3", S(after[1].PrevKv!.Value));
        Assert.Equal("3", S((await Store.GetAsync("/registry/configmaps/x/a", rc, Ct)).Kv!.Value));

        // Compacting again below the mark is a no-op; beyond the newest revision is refused.
        await Store.CompactAsync(r1, Ct);
        Assert.Equal(r3, Store.CompactRevision);
        await Assert.ThrowsAsync<FutureRevisionException>(() => Store.CompactAsync(r4 + 100, Ct));
    }

    [Fact, Trait("Category", "RoundTrip")]
    public async Task LeaseExpiryDeletesTheKeyAndEmitsADeleteEvent()
    {
        var from = await Store.CurrentRevisionAsync(Ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromSeconds(30));
        var watch = Collect(Store.WatchAsync("/registry/events/", from, cts.Token), 2);
        var rev = await Store.CreateAsync("/registry/events/default/e1", V("short-lived"), lease: 1, ct: Ct);
        await Store.CreateAsync("/registry/events/default/e2", V("kept"), ct: Ct);
        var events = await watch;
        Assert.Equal(WatchEventType.Create, events[0].Type);
        var expiry = await Collect(Store.WatchAsync("/registry/events/default/e1", rev, cts.Token), 1);
        Assert.Equal(WatchEventType.Delete, expiry[0].Type);
        Assert.Equal("short-lived", S(expiry[0].Kv.Value));
        Assert.Null((await Store.GetAsync("/registry/events/default/e1", ct: Ct)).Kv);
        Assert.NotNull((await Store.GetAsync("/registry/events/default/e2", ct: Ct)).Kv);
    }
}
