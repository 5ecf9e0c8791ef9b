// Chooses the datastore: SQLite under DIR/db by default, PostgreSQL with --datastore-endpoint.
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Datastore.Sqlite;

namespace Appliance.ClusterRuntime.Server;

/// <summary>Creates the configured <see cref="IBackend"/>.</summary>
public static class BackendFactory
{
    /// <summary>The backend for <paramref name="options"/>.</summary>
    public static IBackend Create(ServerOptions options)
    {
        if (!string.IsNullOrEmpty(options.DatastoreEndpoint))
            throw new NotSupportedException("--datastore-endpoint: the PostgreSQL backend is not available in this build");
        return new SqliteBackend(new SqliteBackendOptions { DataDir = Path.Combine(options.DataDir, "db") });
    }
}
