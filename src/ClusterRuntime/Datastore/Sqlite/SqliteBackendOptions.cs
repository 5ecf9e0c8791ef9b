// Settings of the SQLite datastore.
namespace Appliance.ClusterRuntime.Datastore.Sqlite;

/// <summary>Settings of <see cref="SqliteBackend"/>.</summary>
public sealed class SqliteBackendOptions
{
    /// <summary>Directory that holds <c>state.db</c> (and its <c>-wal</c>, <c>-shm</c> and <c>.lock</c> files).</summary>
    public required string DataDir { get; init; }

    /// <summary>
    /// <c>PRAGMA synchronous=FULL</c> (default): every acknowledged write is fsynced and survives power loss.
    /// False selects NORMAL, which survives a process kill but may lose the last commits on power loss.
    /// </summary>
    public bool SynchronousFull { get; init; } = true;

    /// <summary>Which updates are held in memory and written coalesced; null writes every update at once (naive mode).</summary>
    public VolatileKeyPolicy? VolatileKeys { get; init; } = VolatileKeyPolicy.Default;

    /// <summary>How often held volatile updates are written to disk. After a crash a volatile key may be this much older.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How often keys with an expired lease are looked for.</summary>
    public TimeSpan ExpiryInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Clock used for lease expiry.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Events a watcher may fall behind before it is switched to catching up from the log.</summary>
    public int WatchBuffer { get; init; } = 16384;

    /// <summary>Path of the database file.</summary>
    public string DatabasePath => Path.Combine(DataDir, "state.db");
}
