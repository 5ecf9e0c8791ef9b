// Settings of the SQLite datastore.
using Appliance.ClusterRuntime.Datastore.Sql;

namespace Appliance.ClusterRuntime.Datastore.Sqlite;

/// <summary>Settings of <see cref="SqliteBackend"/>.</summary>
public sealed class SqliteBackendOptions : SqlBackendOptions
{
    /// <summary>Directory that holds <c>state.db</c> (and its <c>-wal</c>, <c>-shm</c> and <c>.lock</c> files).</summary>
    public required string DataDir { get; init; }

    /// <summary>
    /// <c>PRAGMA synchronous=FULL</c> (default): every acknowledged write is fsynced and survives power loss.
    /// False selects NORMAL, which survives a process kill but may lose the last commits on power loss.
    /// </summary>
    public bool SynchronousFull { get; init; } = true;

    /// <summary>Path of the database file.</summary>
    public string DatabasePath => Path.Combine(DataDir, "state.db");
}
