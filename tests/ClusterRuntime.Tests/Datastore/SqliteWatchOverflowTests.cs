// A watcher that falls behind its buffer is switched to catching up from the log, without losing or repeating events.
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Datastore.Sqlite;

namespace Appliance.ClusterRuntime.Tests.Datastore;

public sealed class SqliteWatchOverflowTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("datastore-overflow-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact, Trait("Category", "RoundTrip")]
    public async Task SlowWatcherCatchesUpFromTheLogAfterOverflow()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var store = new SqliteBackend(new SqliteBackendOptions { DataDir = _dir, WatchBuffer = 8 });
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

    [Theory, Trait("Category", "Unit")]
    [InlineData("postgres://kube:s%40cret@db.local:5433/k8s?sslmode=disable", "db.local", 5433, "k8s", "kube", "s@cret")]
    [InlineData("postgresql://db.local/k8s", "db.local", 5432, "k8s", null, null)]
    public void EndpointUrlsBecomeConnectionStrings(string url, string host, int port, string db, string? user, string? password)
    {
        var b = new Npgsql.NpgsqlConnectionStringBuilder(DatastoreEndpoint.ToConnectionString(url));
        Assert.Equal(host, b.Host);
        Assert.Equal(port, b.Port);
        Assert.Equal(db, b.Database);
        Assert.Equal(user, b.Username);
        Assert.Equal(password, b.Password);
    }

    [Fact, Trait("Category", "Unit")]
    public async Task EndpointPicksTheBackend()
    {
        await using var sqlite = DatastoreEndpoint.Open(_dir, null);
        Assert.IsType<SqliteBackend>(sqlite);
        await using var pg = DatastoreEndpoint.Open(_dir, "postgres://h/db");
        Assert.IsType<Appliance.ClusterRuntime.Datastore.Postgres.PostgresBackend>(pg);
        var e = Assert.Throws<ArgumentException>(() => DatastoreEndpoint.Open(_dir, "mysql://h/db"));
        Assert.Contains("mysql://h/db", e.Message);
    }
}
