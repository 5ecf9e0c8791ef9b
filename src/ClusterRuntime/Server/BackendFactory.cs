// Chooses the datastore: SQLite under DIR/db by default, PostgreSQL with --datastore-endpoint.
using Appliance.ClusterRuntime.Datastore;

namespace Appliance.ClusterRuntime.Server;

/// <summary>Creates the configured <see cref="IBackend"/>.</summary>
public static class BackendFactory
{
    /// <summary>The backend for <paramref name="options"/> (not started).</summary>
    /// <exception cref="ArgumentException">The endpoint is malformed.</exception>
    public static IBackend Create(ServerOptions options) => DatastoreEndpoint.Open(options.DataDir, options.DatastoreEndpoint);
}
