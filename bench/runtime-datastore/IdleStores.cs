// Opens the store the idle benchmark drives, and reads the counters it reports (log rows; PostgreSQL WAL).
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Datastore.Postgres;
using Appliance.ClusterRuntime.Datastore.Sqlite;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Appliance.Bench.RuntimeDatastore;

internal static class IdleStores
{
    /// <summary>The backend with volatile keys on or off (naive), and its count of committed write transactions.</summary>
    public static (IBackend Store, Func<long> Commits) Open(string backend, string target, bool volatileKeys, TimeSpan flush, TimeSpan expiry)
    {
        var policy = volatileKeys ? VolatileKeyPolicy.Default : null;
        if (backend == "sqlite")
        {
            var s = new SqliteBackend(new SqliteBackendOptions { DataDir = target, VolatileKeys = policy, FlushInterval = flush, ExpiryInterval = expiry });
            return (s, () => s.CommitCount);
        }
        var p = new PostgresBackend(new PostgresBackendOptions { ConnectionString = target, VolatileKeys = policy, FlushInterval = flush, ExpiryInterval = expiry });
        return (p, () => p.CommitCount);
    }

    /// <summary>Rows in the revision log (nothing is compacted during the run, so the difference is rows written).</summary>
    public static async Task<long> LogRowsAsync(string backend, string target)
    {
        if (backend == "sqlite")
        {
            await using var c = new SqliteConnection($"Data Source={Path.Combine(target, "state.db")};Mode=ReadOnly;Pooling=False");
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT COUNT(*) FROM log;";
            return (long)(await cmd.ExecuteScalarAsync())!;
        }
        await using var pc = new NpgsqlConnection(target);
        await pc.OpenAsync();
        await using var pcmd = new NpgsqlCommand("SELECT COUNT(*) FROM log;", pc);
        return (long)(await pcmd.ExecuteScalarAsync())!;
    }

    /// <summary>The server's WAL position (bytes) and WAL sync count.</summary>
    public static async Task<(long WalBytes, long WalSyncs)> PgCountersAsync(string target)
    {
        await using var c = new NpgsqlConnection(target);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint, (SELECT wal_sync FROM pg_stat_wal);", c);
        await using var r = await cmd.ExecuteReaderAsync();
        await r.ReadAsync();
        return (r.GetInt64(0), r.GetInt64(1));
    }
}
