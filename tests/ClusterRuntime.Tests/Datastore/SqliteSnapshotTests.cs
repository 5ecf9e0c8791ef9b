// Snapshots of a SQLite backend under write load are point-in-time copies; retention, restore and the lock hold.
using System.Collections.Concurrent;
using System.Text;
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Datastore.Integrity;
using Appliance.ClusterRuntime.Datastore.Snapshots;
using Appliance.ClusterRuntime.Datastore.Sqlite;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Datastore;

[Trait("Category", "RoundTrip")]
public sealed class SqliteSnapshotTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static SqliteBackend Open(string dataDir) =>
        new(new SqliteBackendOptions { DataDir = Path.Combine(dataDir, "db"), VolatileKeys = null });

    [Fact]
    public async Task SnapshotDuringWrites_HoldsExactlyTheWritesUpToItsRevision_AndRestoresIntoAFreshDirectory()
    {
        using var dir = new TempDir();
        var acknowledged = new ConcurrentDictionary<string, long>();
        SnapshotInfo snap;
        await using (var backend = Open(dir.Path))
        {
            await backend.StartAsync(Ct);
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var key = $"/registry/configmaps/default/w{w}-{i:D6}";
                    acknowledged[key] = await backend.CreateAsync(key, Encoding.UTF8.GetBytes(new string('v', 300)), ct: CancellationToken.None);
                }
            }, CancellationToken.None)).ToArray();
            while (acknowledged.Count < 2000) await Task.Delay(10, Ct);
            snap = new SnapshotStore(dir.Path).Take(DateTimeOffset.UtcNow, retention: 5);
            while (acknowledged.Count < 4000) await Task.Delay(10, Ct);
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }
        Assert.True(snap.Revision > 0);
        var expected = acknowledged.Where(a => a.Value <= snap.Revision).Select(a => a.Key).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Count, snap.Keys);
        Assert.True(acknowledged.Count > expected.Count, "writes went on after the snapshot");

        // Disaster recovery onto a new device: restore into an empty data directory.
        using var fresh = new TempDir();
        var (restored, previous) = new SnapshotStore(fresh.Path).Restore(snap.Path, DateTimeOffset.UtcNow);
        Assert.Null(previous);
        Assert.Equal(snap.Revision, restored.Revision);
        Assert.True(SqliteIntegrityCheck.Check(fresh.Path, Path.Combine(fresh.Path, "db", "state.db")).Ok);
        await using var again = Open(fresh.Path);
        await again.StartAsync(Ct);
        var list = await again.ListAsync("/registry/configmaps/", ct: Ct);
        Assert.Equal(expected, list.Items.Select(kv => kv.Key));
        Assert.Equal(snap.Revision, list.Items.Max(kv => kv.ModRevision));
        // The lost timeline's revisions are never handed out again, and reading or watching at one is 410 Gone.
        var bumped = snap.Revision + SnapshotStore.UnknownRevisionBump + 1;
        Assert.Equal(bumped, list.Revision);
        Assert.Equal(bumped, again.CompactRevision);
        await Assert.ThrowsAsync<CompactedException>(() => again.ListAsync("/registry/configmaps/", revision: snap.Revision, ct: Ct));
        await Assert.ThrowsAsync<CompactedException>(async () =>
        {
            await foreach (var _ in again.WatchAsync("/registry/", snap.Revision, Ct)) break;
        });
        Assert.Equal(bumped + 1, await again.CreateAsync("/registry/configmaps/default/new", "{}"u8.ToArray(), ct: Ct));
    }

    [Fact]
    public async Task Retention_KeepsTheNewest_AndRestoreRefusesWhileTheStoreIsOpen()
    {
        using var dir = new TempDir();
        await using var backend = Open(dir.Path);
        await backend.StartAsync(Ct);
        var store = new SnapshotStore(dir.Path);
        var t0 = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
        var names = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            await backend.CreateAsync($"/registry/configmaps/default/c{i}", "{}"u8.ToArray(), ct: Ct);
            names.Add(store.Take(t0.AddHours(6 * i), retention: 2).Name);
        }
        Assert.Equal(["state-20261201T220000.000Z.db", "state-20261202T040000.000Z.db"], store.List().Select(s => s.Name));
        Assert.Equal(names[2..], store.List().Select(s => s.Name));
        Assert.Equal([3L, 4L], store.List().Select(s => s.Keys));
        // Same instant twice: a distinct name, never an overwrite.
        Assert.NotEqual(names[3], store.Take(t0.AddHours(18), retention: 5).Name);

        var e = Assert.Throws<DatastoreInUseException>(() => store.Restore(null, DateTimeOffset.UtcNow));
        Assert.Contains("state.db.lock", e.Message);
        Assert.True(File.Exists(store.DatabasePath));
    }

    [Fact]
    public async Task IntegrityCheck_PassesALiveDatabaseWithItsWal_AndNeedsTheMarkerToCallEmptinessALoss()
    {
        using var dir = new TempDir();
        var db = Path.Combine(dir.Path, "db", "state.db");
        Assert.True(SqliteIntegrityCheck.Check(dir.Path, db).Ok, "a first start has no database yet");
        await using (var backend = Open(dir.Path))
        {
            await backend.StartAsync(Ct);
            await backend.CreateAsync("/registry/namespaces/default", "{}"u8.ToArray(), ct: Ct);
            Assert.True(new FileInfo(db + "-wal").Length > 0);
            Assert.Null(SqliteIntegrityCheck.Check(dir.Path, db).Problem);
        }
        File.WriteAllText(SqliteIntegrityCheck.MarkerPath(dir.Path), "x");
        Assert.Null(SqliteIntegrityCheck.Check(dir.Path, db).Problem);
        File.WriteAllBytes(db, []);
        Assert.StartsWith("is empty (0 bytes)", SqliteIntegrityCheck.Check(dir.Path, db).Problem);
        File.Delete(SqliteIntegrityCheck.MarkerPath(dir.Path));
        Assert.True(SqliteIntegrityCheck.Check(dir.Path, db).Ok);
    }
}
