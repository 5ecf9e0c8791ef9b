// Settings of the PostgreSQL datastore.
using Appliance.ClusterRuntime.Datastore.Sql;

namespace Appliance.ClusterRuntime.Datastore.Postgres;

/// <summary>Settings of <see cref="PostgresBackend"/>.</summary>
public sealed class PostgresBackendOptions : SqlBackendOptions
{
    /// <summary>Npgsql connection string (<c>Host=…;Database=…;Username=…</c>); see <see cref="DatastoreEndpoint"/> for URLs.</summary>
    public required string ConnectionString { get; init; }

    /// <summary>Longest wait for new log rows when no NOTIFY arrives (writes by other servers are also announced by NOTIFY).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);
}
