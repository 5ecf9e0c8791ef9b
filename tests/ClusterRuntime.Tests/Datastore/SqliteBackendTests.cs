// Runs the backend contract suite against the SQLite backend.
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Datastore.Sqlite;
using Microsoft.Data.Sqlite;

namespace Appliance.ClusterRuntime.Tests.Datastore;

/// <summary>The shared suite on a fresh SQLite file per store.</summary>
public sealed class SqliteBackendTests : BackendTests
{
    private readonly TempDir _root = new("datastore-sqlite-");
    private readonly Dictionary<IBackend, string> _dirs = [];

    protected override Task<IBackend> CreateAsync(bool naive = false, int? watchBuffer = null)
    {
        var dir = Path.Combine(_root.Path, $"s{_dirs.Count}");
        var store = new SqliteBackend(new SqliteBackendOptions
        {
            DataDir = dir,
            ExpiryInterval = TimeSpan.FromMilliseconds(200),
            VolatileKeys = naive ? null : VolatileKeyPolicy.Default,
            WatchBuffer = watchBuffer ?? 16384,
        });
        _dirs[store] = dir;
        return Task.FromResult<IBackend>(store);
    }

    protected override Task<List<(long Rev, int Kind)>> DiskRowsAsync(IBackend store, string key)
    {
        using var c = new SqliteConnection($"Data Source={Path.Combine(_dirs[store], "state.db")};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT rev, kind FROM log WHERE key = $k ORDER BY rev;";
        cmd.Parameters.AddWithValue("$k", key);
        using var r = cmd.ExecuteReader();
        var rows = new List<(long, int)>();
        while (r.Read()) rows.Add((r.GetInt64(0), r.GetInt32(1)));
        return Task.FromResult(rows);
    }

    protected override Task CleanupAsync()
    {
        _root.Dispose();
        return Task.CompletedTask;
    }
}
