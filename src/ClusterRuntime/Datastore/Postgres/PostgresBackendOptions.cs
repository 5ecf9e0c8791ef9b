// Settings of the PostgreSQL datastore.
namespace Appliance.ClusterRuntime.Datastore.Postgres;

/// <summary>Settings of <see cref="PostgresBackend"/>.</summary>
public sealed class PostgresBackendOptions
{
    /// <summary>Npgsql connection string (<c>Host=…;Database=…;Username=…</c>); see <see cref="DatastoreEndpoint"/> for URLs.</summary>
    public required string ConnectionString { get; init; }

    /// <summary>How often keys with an expired lease are looked for.</summary>
    public TimeSpan ExpiryInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait for new log rows when no NOTIFY arrives (writes by other servers are also announced by NOTIFY).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Clock used for lease expiry.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Events a watcher may fall behind before it is switched to catching up from the log.</summary>
    public int WatchBuffer { get; init; } = 16384;
}
