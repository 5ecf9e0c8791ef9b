// SQLite crash image of held volatile updates, and the heartbeat classifier (the held-update behaviour itself is in BackendTests).
using System.Text;
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Datastore.Sqlite;

namespace Appliance.ClusterRuntime.Tests.Datastore;

public sealed class SqliteVolatileKeyTests : IDisposable
{
    private const string Lease = "/registry/leases/kube-node-lease/node1";
    private readonly TempDir _dir = new("datastore-volatile-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static byte[] V(string s) => Encoding.UTF8.GetBytes(s);

    private SqliteBackend Open(string? dir = null) =>
        new(new SqliteBackendOptions
        {
            DataDir = dir ?? _dir.Path,
            FlushInterval = TimeSpan.FromHours(1),
            ExpiryInterval = TimeSpan.FromMilliseconds(100),
        });

    public void Dispose() => _dir.Dispose();

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
