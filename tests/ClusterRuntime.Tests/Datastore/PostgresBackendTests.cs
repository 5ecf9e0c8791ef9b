// Runs the backend contract suite against the PostgreSQL backend on a server the fixture starts.
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Datastore.Postgres;

namespace Appliance.ClusterRuntime.Tests.Datastore;

/// <summary>The shared suite on a fresh PostgreSQL database per test, plus what only a shared database can show.</summary>
[Trait("Category", "External")]
public sealed class PostgresBackendTests(PostgresServerFixture server) : BackendTests, IClassFixture<PostgresServerFixture>
{
    private string? _connectionString;

    protected override async Task<IBackend> CreateAsync()
    {
        if (server.SkipReason is { } why) Assert.Skip(why);
        _connectionString = await server.CreateDatabaseAsync();
        return Open();
    }

    private PostgresBackend Open() =>
        new(new PostgresBackendOptions { ConnectionString = _connectionString!, ExpiryInterval = TimeSpan.FromMilliseconds(200) });

    [Fact, Trait("Category", "External")]
    public async Task TwoServersOnOneDatabaseShareOneOrderedRevisionSequence()
    {
        await using var other = Open();
        await other.StartAsync(Ct);
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
}
