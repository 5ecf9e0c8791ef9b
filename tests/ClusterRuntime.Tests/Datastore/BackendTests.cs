// The backend contract suite, written once and run against every IBackend implementation.
using System.Text;
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Datastore.Sql;

namespace Appliance.ClusterRuntime.Tests.Datastore;

/// <summary>Behaviour every <see cref="IBackend"/> must show; subclasses supply a fresh, empty store per test.</summary>
public abstract class BackendTests : IAsyncLifetime
{
    private IBackend? _store;

    /// <summary>The store under test, started.</summary>
    protected IBackend Store => _store ?? throw new InvalidOperationException("not initialized");

    /// <summary>The store under test as the shared SQL core (held volatile updates, flush).</summary>
    protected SqlBackend Sql => (SqlBackend)Store;

    /// <summary>
    /// Creates a fresh, empty, not yet started store with the default volatile-key policy, or with
    /// <paramref name="naive"/> none (every update written at once), and a watch buffer of <paramref name="watchBuffer"/>
    /// events (null: the default). Each call gets its own empty database.
    /// </summary>
    protected abstract Task<IBackend> CreateAsync(bool naive = false, int? watchBuffer = null);

    /// <summary>Releases what <see cref="CreateAsync"/> made (after the stores are disposed).</summary>
    protected virtual Task CleanupAsync() => Task.CompletedTask;

    /// <summary>The <c>log</c> rows of <paramref name="key"/> in <paramref name="store"/>'s database, read over a separate connection (what survives a crash now).</summary>
    protected abstract Task<List<(long Rev, int Kind)>> DiskRowsAsync(IBackend store, string key);

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
        var lastOldPage = await Store.ListAsync("/registry/pods/ns/", "/registry/pods/ns/p3", 2, mid, Ct);
        Assert.Equal(["p3", "p4"], lastOldPage.Items.Select(k => k.Key[^2..]));
        Assert.False(lastOldPage.More);

        // A revision that is no longer the newest, after the delete: the deleted key is left out of a page and of "more".
        var afterDelete = await Store.CurrentRevisionAsync(Ct);
        await Store.CreateAsync("/registry/pods/nsx/r", V("later"), ct: Ct);
        var pageAfterDelete = await Store.ListAsync("/registry/pods/ns/", "/registry/pods/ns/p2", 2, afterDelete, Ct);
        Assert.Equal(["p2", "p3"], pageAfterDelete.Items.Select(k => k.Key[^2..]));
        Assert.Equal("changed", S(pageAfterDelete.Items[0].Value));
        Assert.False(pageAfterDelete.More);

        Assert.Equal(7, (await Store.ListAsync("/registry/", ct: Ct)).Items.Count);
        Assert.Equal(4, (await Store.CountAsync("/registry/pods/ns/", Ct)).Count);
        Assert.Equal(6, (await Store.CountAsync("/registry/pods/", Ct)).Count);
        Assert.Equal(7, (await Store.CountAsync("", Ct)).Count);

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

    private const string Lease = "/registry/leases/kube-node-lease/node1";

    [Fact, Trait("Category", "RoundTrip")]
    public async Task LeaseRenewalsAreServedFromMemoryAndFlushedAsOneRow()
    {
        Assert.True(Sql.HoldsVolatileKeys);
        var created = await Store.CreateAsync(Lease, V("renew-0"), ct: Ct);
        var watch = Collect(Store.WatchAsync("/registry/leases/", created, Ct), 5);
        var rev = created;
        var revs = new List<long>();
        for (var i = 1; i <= 5; i++)
        {
            var (r, _, ok) = await Store.UpdateAsync(Lease, V($"renew-{i}"), rev, ct: Ct);
            Assert.True(ok);
            Assert.Equal(rev + 1, r);
            rev = r;
            revs.Add(r);
        }
        var other = await Store.CreateAsync("/registry/configmaps/default/cm", V("durable"), ct: Ct);
        Assert.Equal(rev + 1, other);

        // Served from memory: newest value, history at an intermediate revision, and every event in order.
        Assert.Equal("renew-5", S((await Store.GetAsync(Lease, ct: Ct)).Kv!.Value));
        Assert.Equal("renew-2", S((await Store.GetAsync(Lease, revs[1], Ct)).Kv!.Value));
        Assert.Equal("renew-3", S((await Store.ListAsync("/registry/leases/", revision: revs[2], ct: Ct)).Items[0].Value));
        Assert.Equal(revs, (await watch).Select(e => e.Kv.ModRevision));
        var caughtUp = await Collect(Store.WatchAsync("/registry/", created, Ct), 6);
        Assert.Equal([.. revs, other], caughtUp.Select(e => e.Kv.ModRevision));
        Assert.Equal(1, Sql.PendingKeyCount);
        Assert.Equal(other, await Store.CurrentRevisionAsync(Ct));

        // Nothing about the renewals is on disk yet; the configmap is.
        Assert.Equal([(created, 0)], await DiskRowsAsync(Store, Lease));
        Assert.Equal([(other, 0)], await DiskRowsAsync(Store, "/registry/configmaps/default/cm"));

        await Sql.FlushAsync(Ct);
        Assert.Equal([(created, 0), (rev, 1)], await DiskRowsAsync(Store, Lease));
        Assert.Equal(0, Sql.PendingKeyCount);
        var afterFlush = await Collect(Store.WatchAsync("/registry/leases/", created, Ct), 1);
        Assert.Equal(rev, afterFlush[0].Kv.ModRevision);
        Assert.Equal(created, afterFlush[0].PrevKv!.ModRevision);
    }

    [Fact, Trait("Category", "RoundTrip")]
    public async Task NaiveModeWritesEveryRenewal()
    {
        await using var naive = await CreateAsync(naive: true);
        await naive.StartAsync(Ct);
        Assert.False(((SqlBackend)naive).HoldsVolatileKeys);
        var rev = await naive.CreateAsync(Lease, V("0"), ct: Ct);
        for (var i = 1; i <= 3; i++) rev = (await naive.UpdateAsync(Lease, V($"{i}"), rev, ct: Ct)).Revision;
        Assert.Equal(4, (await DiskRowsAsync(naive, Lease)).Count);
    }

    [Fact, Trait("Category", "RoundTrip")]
    public async Task NodeHeartbeatOnlyChangesAreHeldAndARealChangeWritesThemFirst()
    {
        const string node = "/registry/minions/node1";
        static string Node(string beat, string label) =>
            $$$"""{"kind":"Node","metadata":{"name":"node1","labels":{"role":"{{{label}}}"},"resourceVersion":"7"},"status":{"conditions":[{"type":"Ready","status":"True","lastHeartbeatTime":"{{{beat}}}","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}""";
        var created = await Store.CreateAsync(node, V(Node("2026-01-01T00:00:00Z", "a")), ct: Ct);
        var beat = (await Store.UpdateAsync(node, V(Node("2026-01-01T00:00:40Z", "a")), created, ct: Ct)).Revision;
        Assert.Equal([(created, 0)], await DiskRowsAsync(Store, node));
        var relabel = (await Store.UpdateAsync(node, V(Node("2026-01-01T00:00:40Z", "b")), beat, ct: Ct)).Revision;
        Assert.Equal([(created, 0), (beat, 1), (relabel, 1)], await DiskRowsAsync(Store, node));
        var events = await Collect(Store.WatchAsync(node, created, Ct), 2);
        Assert.Equal([beat, relabel], events.Select(e => e.Kv.ModRevision));
        Assert.Equal(beat, events[1].PrevKv!.ModRevision);
    }

    [Fact, Trait("Category", "RoundTrip")]
    public async Task HeldRenewalsExtendTheLeaseAndExpiryWritesThemBeforeTheDelete()
    {
        var rev = await Store.CreateAsync(Lease, V("0"), lease: 2, ct: Ct);
        var created = rev;
        // Renew for 3 s with a 2 s TTL: only the held renewals keep the key alive.
        for (var i = 1; i <= 6; i++)
        {
            await Task.Delay(500, Ct);
            var (r, _, ok) = await Store.UpdateAsync(Lease, V($"{i}"), rev, lease: 2, ct: Ct);
            Assert.True(ok, $"renewal {i} found the lease gone");
            rev = r;
        }
        Assert.Equal([(created, 0)], await DiskRowsAsync(Store, Lease));
        var expiry = await Collect(Store.WatchAsync(Lease, rev, Ct), 1);
        Assert.Equal(WatchEventType.Delete, expiry[0].Type);
        Assert.Equal("6", S(expiry[0].Kv.Value));
        Assert.Equal([(created, 0), (rev, 1), (expiry[0].Kv.ModRevision, 2)], await DiskRowsAsync(Store, Lease));
    }

    [Fact, Trait("Category", "RoundTrip")]
    public async Task CleanShutdownWritesHeldRenewalsAndTheExactRevision()
    {
        var rev = await Store.CreateAsync(Lease, V("0"), ct: Ct);
        for (var i = 1; i <= 3; i++) rev = (await Store.UpdateAsync(Lease, V($"held-{i}"), rev, ct: Ct)).Revision;
        var before = await DiskRowsAsync(Store, Lease);
        Assert.Single(before);
        await Store.DisposeAsync();
        Assert.Equal([before[0], (rev, 1)], await DiskRowsAsync(Store, Lease));
    }

    [Fact, Trait("Category", "RoundTrip")]
    public async Task SlowWatcherCatchesUpFromTheLogAfterOverflow()
    {
        await using var store = await CreateAsync(watchBuffer: 8);
        await store.StartAsync(Ct);
        var from = await store.CurrentRevisionAsync(Ct);
        await using var watch = store.WatchAsync("/registry/configmaps/", from, Ct).GetAsyncEnumerator(Ct);
        // The first MoveNext subscribes; nothing is read after it while 500 writes overflow the 8-event buffer.
        var first = watch.MoveNextAsync().AsTask();
        var revs = new List<long>();
        for (var i = 0; i < 500; i++) revs.Add(await store.CreateAsync($"/registry/configmaps/ns/k{i:D4}", [1], ct: Ct));
        Assert.True(await first);
        var seen = new List<long> { watch.Current.Kv.ModRevision };
        while (seen.Count < revs.Count && await watch.MoveNextAsync()) seen.Add(watch.Current.Kv.ModRevision);
        Assert.Equal(revs, seen);
    }
}
