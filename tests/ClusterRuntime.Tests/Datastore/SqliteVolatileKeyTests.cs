// Volatile keys: lease renewals and node heartbeats are visible at once but reach the disk only at a coalesced flush.
using System.Text;
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Datastore.Sqlite;
using Microsoft.Data.Sqlite;

namespace Appliance.ClusterRuntime.Tests.Datastore;

public sealed class SqliteVolatileKeyTests : IDisposable
{
    private const string Lease = "/registry/leases/kube-node-lease/node1";
    private readonly TempDir _dir = new("datastore-volatile-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static byte[] V(string s) => Encoding.UTF8.GetBytes(s);

    private SqliteBackend Open(string? dir = null, VolatileKeyPolicy? policy = null, bool naive = false) =>
        new(new SqliteBackendOptions
        {
            DataDir = dir ?? _dir.Path,
            FlushInterval = TimeSpan.FromHours(1),
            VolatileKeys = naive ? null : policy ?? VolatileKeyPolicy.Default,
            ExpiryInterval = TimeSpan.FromMilliseconds(100),
        });

    /// <summary>Rows on disk for a key, read with a separate connection (what survives a crash right now).</summary>
    private static List<(long Rev, int Kind)> DiskRows(string dir, string key)
    {
        using var c = new SqliteConnection($"Data Source={Path.Combine(dir, "state.db")};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT rev, kind FROM log WHERE key = $k ORDER BY rev;";
        cmd.Parameters.AddWithValue("$k", key);
        using var r = cmd.ExecuteReader();
        var rows = new List<(long, int)>();
        while (r.Read()) rows.Add((r.GetInt64(0), r.GetInt32(1)));
        return rows;
    }

    public void Dispose() => _dir.Dispose();

    [Fact, Trait("Category", "RoundTrip")]
    public async Task LeaseRenewalsAreServedFromMemoryAndFlushedAsOneRow()
    {
        await using var store = Open();
        await store.StartAsync(Ct);
        var created = await store.CreateAsync(Lease, V("renew-0"), ct: Ct);
        var watch = WatchCollector.Collect(store.WatchAsync("/registry/leases/", created, Ct), 5);
        var rev = created;
        var revs = new List<long>();
        for (var i = 1; i <= 5; i++)
        {
            var (r, _, ok) = await store.UpdateAsync(Lease, V($"renew-{i}"), rev, ct: Ct);
            Assert.True(ok);
            Assert.Equal(rev + 1, r);
            rev = r;
            revs.Add(r);
        }
        var other = await store.CreateAsync("/registry/configmaps/default/cm", V("durable"), ct: Ct);
        Assert.Equal(rev + 1, other);

        // Served from memory: newest value, history at an intermediate revision, and every event in order.
        Assert.Equal("renew-5", Encoding.UTF8.GetString((await store.GetAsync(Lease, ct: Ct)).Kv!.Value));
        Assert.Equal("renew-2", Encoding.UTF8.GetString((await store.GetAsync(Lease, revs[1], Ct)).Kv!.Value));
        Assert.Equal("renew-3", Encoding.UTF8.GetString((await store.ListAsync("/registry/leases/", revision: revs[2], ct: Ct)).Items[0].Value));
        Assert.Equal(revs, (await watch).Select(e => e.Kv.ModRevision));
        var caughtUp = await WatchCollector.Collect(store.WatchAsync("/registry/", created, Ct), 6);
        Assert.Equal([.. revs, other], caughtUp.Select(e => e.Kv.ModRevision));
        Assert.Equal(1, store.PendingKeyCount);

        // Nothing about the renewals is on disk yet; the configmap is.
        Assert.Equal([(created, 0)], DiskRows(_dir.Path, Lease));
        Assert.Equal([(other, 0)], DiskRows(_dir.Path, "/registry/configmaps/default/cm"));

        await store.FlushAsync(Ct);
        Assert.Equal([(created, 0), (rev, 1)], DiskRows(_dir.Path, Lease));
        Assert.Equal(0, store.PendingKeyCount);
        var afterFlush = await WatchCollector.Collect(store.WatchAsync("/registry/leases/", created, Ct), 1);
        Assert.Equal(rev, afterFlush[0].Kv.ModRevision);
        Assert.Equal(created, afterFlush[0].PrevKv!.ModRevision);
    }

    [Fact, Trait("Category", "RoundTrip")]
    public async Task NaiveModeWritesEveryRenewal()
    {
        await using var store = Open(naive: true);
        await store.StartAsync(Ct);
        var rev = await store.CreateAsync(Lease, V("0"), ct: Ct);
        for (var i = 1; i <= 3; i++) rev = (await store.UpdateAsync(Lease, V($"{i}"), rev, ct: Ct)).Revision;
        Assert.Equal(4, DiskRows(_dir.Path, Lease).Count);
    }

    [Fact, Trait("Category", "RoundTrip")]
    public async Task CrashImageLosesOnlyHeldRenewalsAndRevisionsNeverGoBack()
    {
        long heldRev, durableRev, created;
        using var imageDir = new TempDir("datastore-crash-image-");
        var image = imageDir.Path;
        await using (var store = Open())
        {
            await store.StartAsync(Ct);
            created = await store.CreateAsync(Lease, V("on-disk"), ct: Ct);
            var rev = created;
            for (var i = 0; i < 3; i++) rev = (await store.UpdateAsync(Lease, V($"held-{i}"), rev, ct: Ct)).Revision;
            durableRev = await store.CreateAsync("/registry/configmaps/default/after", V("x"), ct: Ct);
            heldRev = (await store.UpdateAsync(Lease, V("held-last"), rev, ct: Ct)).Revision;

            // What a power cut leaves right now: the database and its WAL as they are on disk.
            foreach (var f in new[] { "state.db", "state.db-wal" })
                File.Copy(Path.Combine(_dir.Path, f), Path.Combine(image, f));
        }

        await using var reopened = Open(image);
        await reopened.StartAsync(Ct);
        var (_, lease) = await reopened.GetAsync(Lease, ct: Ct);
        Assert.Equal("on-disk", Encoding.UTF8.GetString(lease!.Value));
        Assert.Equal(created, lease.ModRevision);
        Assert.NotNull((await reopened.GetAsync("/registry/configmaps/default/after", ct: Ct)).Kv);
        Assert.True(durableRev < heldRev);
        var next = await reopened.CreateAsync("/registry/configmaps/default/next", V("y"), ct: Ct);
        Assert.True(next > heldRev, $"revision {next} was handed out again (held revisions reached {heldRev})");
        // A client holding the lost revision gets a conflict, not a silent overwrite.
        Assert.False((await reopened.UpdateAsync(Lease, V("stale"), heldRev, ct: Ct)).Updated);

        // A clean shutdown of the original flushed the held value.
        await using var clean = Open();
        await clean.StartAsync(Ct);
        Assert.Equal("held-last", Encoding.UTF8.GetString((await clean.GetAsync(Lease, ct: Ct)).Kv!.Value));
        Assert.Equal(heldRev, await clean.CurrentRevisionAsync(Ct));
    }

    [Fact, Trait("Category", "RoundTrip")]
    public async Task NodeHeartbeatOnlyChangesAreHeldAndARealChangeWritesThemFirst()
    {
        const string node = "/registry/minions/node1";
        static string Node(string beat, string label) =>
            $$$"""{"kind":"Node","metadata":{"name":"node1","labels":{"role":"{{{label}}}"},"resourceVersion":"7"},"status":{"conditions":[{"type":"Ready","status":"True","lastHeartbeatTime":"{{{beat}}}","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}""";
        await using var store = Open();
        await store.StartAsync(Ct);
        var created = await store.CreateAsync(node, V(Node("2026-01-01T00:00:00Z", "a")), ct: Ct);
        var beat = (await store.UpdateAsync(node, V(Node("2026-01-01T00:00:40Z", "a")), created, ct: Ct)).Revision;
        Assert.Equal([(created, 0)], DiskRows(_dir.Path, node));
        var relabel = (await store.UpdateAsync(node, V(Node("2026-01-01T00:00:40Z", "b")), beat, ct: Ct)).Revision;
        Assert.Equal([(created, 0), (beat, 1), (relabel, 1)], DiskRows(_dir.Path, node));
        var events = await WatchCollector.Collect(store.WatchAsync(node, created, Ct), 2);
        Assert.Equal([beat, relabel], events.Select(e => e.Kv.ModRevision));
        Assert.Equal(beat, events[1].PrevKv!.ModRevision);
    }

    [Fact, Trait("Category", "RoundTrip")]
    public async Task HeldRenewalsExtendTheLeaseAndExpiryWritesThemBeforeTheDelete()
    {
        await using var store = Open();
        await store.StartAsync(Ct);
        var rev = await store.CreateAsync(Lease, V("0"), lease: 2, ct: Ct);
        var created = rev;
        // Renew for 3 s with a 2 s TTL: only the held renewals keep the key alive.
        for (var i = 1; i <= 6; i++)
        {
            await Task.Delay(500, Ct);
            var (r, _, ok) = await store.UpdateAsync(Lease, V($"{i}"), rev, lease: 2, ct: Ct);
            Assert.True(ok, $"renewal {i} found the lease gone");
            rev = r;
        }
        Assert.Equal([(created, 0)], DiskRows(_dir.Path, Lease));
        var expiry = await WatchCollector.Collect(store.WatchAsync(Lease, rev, Ct), 1);
        Assert.Equal(WatchEventType.Delete, expiry[0].Type);
        Assert.Equal("6", Encoding.UTF8.GetString(expiry[0].Kv.Value));
        Assert.Equal([(created, 0), (rev, 1), (expiry[0].Kv.ModRevision, 2)], DiskRows(_dir.Path, Lease));
    }

    [Fact, Trait("Category", "Unit")]
    public void HeartbeatClassifierIgnoresOnlyHeartbeatFields()
    {
        var a = V("""{"metadata":{"resourceVersion":"1"},"status":{"conditions":[{"type":"Ready","lastHeartbeatTime":"t1"}]}}""");
        var b = V("""{"metadata":{"resourceVersion":"2"},"status":{"conditions":[{"type":"Ready","lastHeartbeatTime":"t2"}]}}""");
        var c = V("""{"metadata":{"resourceVersion":"2"},"status":{"conditions":[{"type":"Ready","status":"False","lastHeartbeatTime":"t2"}]}}""");
        Assert.True(VolatileKeyPolicy.IsHeartbeatOnly(a, b));
        Assert.False(VolatileKeyPolicy.IsHeartbeatOnly(a, c));
        Assert.False(VolatileKeyPolicy.IsHeartbeatOnly(a, V("not json")));
        Assert.True(VolatileKeyPolicy.Default.IsVolatileUpdate("/registry/leases/ns/x", [], []));
        Assert.False(VolatileKeyPolicy.Default.IsVolatileUpdate("/registry/configmaps/ns/x", a, b));
    }
}
