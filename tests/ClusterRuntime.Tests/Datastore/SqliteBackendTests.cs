// Runs the backend contract suite against the SQLite backend.
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Datastore.Sqlite;

namespace Appliance.ClusterRuntime.Tests.Datastore;

/// <summary>The shared suite on a fresh SQLite file per test.</summary>
public sealed class SqliteBackendTests : BackendTests
{
    private readonly TempDir _dir = new("datastore-sqlite-");

    protected override Task<IBackend> CreateAsync() =>
        Task.FromResult<IBackend>(new SqliteBackend(new SqliteBackendOptions { DataDir = _dir.Path, ExpiryInterval = TimeSpan.FromMilliseconds(200) }));

    protected override Task CleanupAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }
}
