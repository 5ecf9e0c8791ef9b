// Which write errors count as "storage full", and how the failing mark is cleared (probe on SQLite, next commit on PostgreSQL).
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Datastore.Integrity;
using Appliance.ClusterRuntime.Tests.Support;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Appliance.ClusterRuntime.Tests.Datastore;

[Trait("Category", "Unit")]
public sealed class DatastoreHealthTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Observe_MapsSqliteFullAndPostgresDiskFull_PassesEverythingElseThrough()
    {
        var health = new DatastoreHealth(null);
        var busy = new SqliteException("database is locked", 5);
        Assert.Same(busy, health.Observe(busy));
        var unique = new PostgresException("duplicate key", "ERROR", "ERROR", PostgresErrorCodes.UniqueViolation);
        Assert.Same(unique, health.Observe(unique));
        Assert.Null(health.Failure);

        var full = Assert.IsType<StorageFullException>(health.Observe(new SqliteException("database or disk is full", 13)));
        Assert.StartsWith("the datastore cannot write: no space left on its storage", full.Message);
        Assert.Equal(full.Message, health.Failure);
        health.WriteSucceeded();
        Assert.Null(health.Failure);

        Assert.IsType<StorageFullException>(health.Observe(new PostgresException("could not extend file", "ERROR", "ERROR", PostgresErrorCodes.DiskFull)));
        Assert.NotNull(health.Failure);
    }

    [Fact]
    public async Task CheckAsync_ProbesForSpaceWhereItHasADirectory_OtherwiseWaitsForACommit()
    {
        using var dir = new TempDir();
        var local = new DatastoreHealth(dir.Path);
        local.Observe(new SqliteException("database or disk is full", 13));
        // A small commit (a lease-expiry pass, a held renewal) is no proof of space where a probe can tell.
        local.WriteSucceeded();
        Assert.NotNull(local.Failure);
        Assert.Null(await local.CheckAsync(TimeProvider.System, Ct));
        Assert.Empty(Directory.GetFiles(dir.Path));

        var remote = new DatastoreHealth(null);
        remote.Observe(new PostgresException("could not extend file", "ERROR", "ERROR", PostgresErrorCodes.DiskFull));
        Assert.NotNull(await remote.CheckAsync(TimeProvider.System, Ct));
        remote.WriteSucceeded();
        Assert.Null(await remote.CheckAsync(TimeProvider.System, Ct));
    }
}
