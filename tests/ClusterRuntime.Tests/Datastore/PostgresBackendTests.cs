// Runs the backend contract suite against the PostgreSQL backend on a server the fixture starts.
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Datastore.Postgres;

namespace Appliance.ClusterRuntime.Tests.Datastore;

/// <summary>The shared suite on a fresh PostgreSQL database per test.</summary>
public sealed class PostgresBackendTests(PostgresServerFixture server) : BackendTests, IClassFixture<PostgresServerFixture>
{
    protected override async Task<IBackend> CreateAsync()
    {
        if (server.SkipReason is { } why) Assert.Skip(why);
        var cs = await server.CreateDatabaseAsync();
        return new PostgresBackend(new PostgresBackendOptions { ConnectionString = cs, ExpiryInterval = TimeSpan.FromMilliseconds(200) });
    }
}
