// Settings every SQL datastore shares (volatile keys, lease expiry, watch buffers).
namespace Appliance.ClusterRuntime.Datastore.Sql;

/// <summary>Settings of <see cref="SqlBackend"/>; each dialect's options add where its database is.</summary>
public abstract class SqlBackendOptions
{
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
}
