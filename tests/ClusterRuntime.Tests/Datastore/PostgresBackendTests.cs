// Runs the backend contract suite against the PostgreSQL backend on a server the fixture starts.
using System.Text;
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Datastore.Postgres;
using Npgsql;

namespace Appliance.ClusterRuntime.Tests.Datastore;

/// <summary>The shared suite on a fresh PostgreSQL database per store, plus what only a shared database can show.</summary>
[Trait("Category", "External")]
public sealed class PostgresBackendTests(PostgresServerFixture server) : BackendTests, IClassFixture<PostgresServerFixture>
{
    private readonly Dictionary<IBackend, string> _databases = [];
    private string? _connectionString;

    protected override async Task<IBackend> CreateAsync(bool naive = false, int? watchBuffer = null)
    {
        if (server.SkipReason is { } why) Assert.Skip(why);
        var cs = await server.CreateDatabaseAsync();
        _connectionString ??= cs;
        return Open(cs, naive, watchBuffer);
    }

    private PostgresBackend Open(string connectionString, bool naive = false, int? watchBuffer = null)
    {
        var store = new PostgresBackend(new PostgresBackendOptions
        {
            ConnectionString = connectionString,
            ExpiryInterval = TimeSpan.FromMilliseconds(200),
            VolatileKeys = naive ? null : VolatileKeyPolicy.Default,
            WatchBuffer = watchBuffer ?? 16384,
        });
        _databases[store] = connectionString;
        return store;
    }

    protected override async Task<List<(long Rev, int Kind)>> DiskRowsAsync(IBackend store, string key)
    {
        await using var c = new NpgsqlConnection(_databases[store]);
        await c.OpenAsync(Ct);
        await using var cmd = new NpgsqlCommand("SELECT rev, kind FROM log WHERE key = $1 ORDER BY rev;", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = key });
        await using var r = await cmd.ExecuteReaderAsync(Ct);
        var rows = new List<(long, int)>();
        while (await r.ReadAsync(Ct)) rows.Add((r.GetInt64(0), r.GetInt16(1)));
        return rows;
    }

    [Fact, Trait("Category", "External")]
    public async Task TwoServersOnOneDatabaseShareOneOrderedRevisionSequence()
    {
        await using var other = Open(_connectionString!);
        await other.StartAsync(Ct);
        // Two servers: neither may hold volatile updates in memory.
        Assert.False(Sql.HoldsVolatileKeys);
        Assert.False(other.HoldsVolatileKeys);
        var from = await Store.CurrentRevisionAsync(Ct);
        var watchHere = Collect(Store.WatchAsync("/registry/configmaps/", from, Ct), 200);
        var watchThere = Collect(other.WatchAsync("/registry/configmaps/", from, Ct), 200);
        var servers = new[] { Store, other };
        var revs = (await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            servers[i % 2].CreateAsync($"/registry/configmaps/ns/k{i:D3}", V($"{i}"), ct: Ct)))).Order().ToList();
        Assert.Equal(Enumerable.Range(1, 200).Select(i => from + i), revs);
        Assert.Equal(revs, (await watchHere).Select(e => e.Kv.ModRevision));
        Assert.Equal(revs, (await watchThere).Select(e => e.Kv.ModRevision));

        // Optimistic concurrency holds across servers too.
        var key = (await Store.ListAsync("/registry/configmaps/ns/", limit: 1, ct: Ct)).Items[0].Key;
        var current = (await Store.GetAsync(key, ct: Ct)).Kv!.ModRevision;
        var results = await Task.WhenAll(servers.Select((s, i) => s.UpdateAsync(key, V($"from-{i}"), current, ct: Ct)));
        Assert.Single(results, x => x.Updated);
    }

    [Fact, Trait("Category", "External")]
    public async Task ASecondServerStartsOnlyAfterTheHolderWroteItsRenewalsAndTheHolderResumesAlone()
    {
        const string lease = "/registry/leases/kube-node-lease/n1";
        var rev = await Store.CreateAsync(lease, V("0"), ct: Ct);
        for (var i = 1; i <= 3; i++) rev = (await Store.UpdateAsync(lease, V($"held-{i}"), rev, ct: Ct)).Revision;
        Assert.Single(await DiskRowsAsync(Store, lease));

        var other = Open(_connectionString!);
        try
        {
            await other.StartAsync(Ct);
            // The holder wrote its renewal before the newcomer could read: the newcomer sees the newest value and
            // revision, and a renewal through it (with the revision the kubelet holds) succeeds.
            var (_, seen) = await other.GetAsync(lease, ct: Ct);
            Assert.Equal("held-3", Encoding.UTF8.GetString(seen!.Value));
            Assert.Equal(rev, seen.ModRevision);
            Assert.False(Sql.HoldsVolatileKeys);
            var (r, _, ok) = await other.UpdateAsync(lease, V("via-other"), rev, ct: Ct);
            Assert.True(ok);
            Assert.Equal("via-other", S((await Store.GetAsync(lease, ct: Ct)).Kv!.Value));
            rev = r;
        }
        finally
        {
            await other.DisposeAsync();
        }

        // Alone again: after an expiry tick the first server holds renewals once more.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!Sql.HoldsVolatileKeys && DateTime.UtcNow < deadline) await Task.Delay(100, Ct);
        Assert.True(Sql.HoldsVolatileKeys);
        var rows = (await DiskRowsAsync(Store, lease)).Count;
        var (r2, _, ok2) = await Store.UpdateAsync(lease, V("held-again"), rev, ct: Ct);
        Assert.True(ok2);
        Assert.Equal(rows, (await DiskRowsAsync(Store, lease)).Count);
        Assert.True(r2 > rev);
    }
}
