// --datastore-endpoint parsing and backend choice.
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Datastore.Postgres;
using Appliance.ClusterRuntime.Datastore.Sqlite;

namespace Appliance.ClusterRuntime.Tests.Datastore;

public sealed class DatastoreEndpointTests : IDisposable
{
    private readonly TempDir _dir = new("datastore-endpoint-");

    public void Dispose() => _dir.Dispose();

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
        await using var sqlite = DatastoreEndpoint.Open(_dir.Path, null);
        Assert.IsType<SqliteBackend>(sqlite);
        await using var pg = DatastoreEndpoint.Open(_dir.Path, "postgres://h/db");
        Assert.IsType<PostgresBackend>(pg);
        var e = Assert.Throws<ArgumentException>(() => DatastoreEndpoint.Open(_dir.Path, "mysql://h/db"));
        Assert.Contains("mysql://h/db", e.Message);
    }
}
