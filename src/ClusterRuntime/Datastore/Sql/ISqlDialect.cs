// What differs between the SQL databases under the shared core: connections, locking, bulk writes, one query shape.
using System.Data.Common;

namespace Appliance.ClusterRuntime.Datastore.Sql;

/// <summary>
/// A database dialect for <see cref="SqlBackend"/> (after kine's <c>pkg/drivers/generic</c> with thin
/// <c>sqlite</c>/<c>pgsql</c> dialects). The core owns revisions, optimistic concurrency, volatile keys, watch and
/// every query it can write portably (named <c>@</c> parameters); a dialect owns the connections, the schema, how a
/// write batch loads and stores rows, and the few statements that differ.
/// </summary>
internal interface ISqlDialect : IAsyncDisposable
{
    /// <summary>True when other servers may write the same database (PostgreSQL); false for one process per store.</summary>
    bool SharedDatabase { get; }

    /// <summary>Most writes one batch (one transaction) takes from the queue.</summary>
    int MaxBatch { get; }

    /// <summary>Opens the store, creates or checks the schema and returns what is on disk.</summary>
    Task<StoredState> OpenAsync(CancellationToken ct);

    /// <summary>
    /// Begins the writer's transaction (reconnecting if needed). <c>Reconnected</c> is true when the writer's session was
    /// replaced since the last batch, so session state (PostgreSQL advisory locks) was lost.
    /// </summary>
    Task<(DbTransaction Tx, bool Reconnected)> BeginWriteAsync();

    /// <summary>
    /// Reads the current value of <paramref name="keys"/> and, with <paramref name="expireNow"/>, of every key whose lease
    /// expired at or before it. With <paramref name="lockCounter"/> the stored revision counter is locked until commit.
    /// </summary>
    Task<BatchStart> LoadAsync(DbTransaction tx, IReadOnlyCollection<string> keys, long? expireNow, bool lockCounter);

    /// <summary>Stores log rows, live-key pointers and meta values in <paramref name="tx"/>; <paramref name="rev"/> is the batch's newest revision.</summary>
    Task WriteAsync(DbTransaction tx, IReadOnlyList<LogRow> rows, IReadOnlyList<KvPointer> pointers, IReadOnlyList<(string Name, long Value)> meta, long rev);

    /// <summary>Tries to become the one server that may hold volatile updates in memory (always true with one process per store).</summary>
    Task<bool> TryHoldAsync();

    /// <summary>True when another server waits to use the database, so the holder must write its held updates and let go.</summary>
    Task<bool> HoldWantedAsync();

    /// <summary>Gives up holding (after the held updates were written).</summary>
    Task ReleaseHoldAsync();

    /// <summary>Opens a read connection and a transaction whose snapshot is fixed by <see cref="PinAsync"/>.</summary>
    Task<(DbConnection Conn, DbTransaction Tx)> OpenReadAsync(CancellationToken ct);

    /// <summary>Fixes the read snapshot (its first read) and returns the stored revision and compact revision when the dialect keeps them.</summary>
    Task<(long? Rev, long? Compact)> PinAsync(DbTransaction tx, CancellationToken ct);

    /// <summary>The stored revision counter (null when the core's own counter is the only one).</summary>
    Task<long?> StoredRevisionAsync(CancellationToken ct);

    /// <summary>
    /// A query returning <c>key, rev</c> of the newest <c>log</c> row per key among rows matching
    /// <paramref name="where"/>, leaving out keys whose newest row is a deletion. It must not read <c>value</c>: it runs
    /// over every key of a paged list's range. The caller may append <c>ORDER BY key</c> and <c>LIMIT</c>.
    /// </summary>
    string NewestLiveRevisionPerKey(string where);

    /// <summary>Waits until another server announces a write, or the poll interval passes (shared databases only).</summary>
    Task WaitForChangeAsync(CancellationToken ct);
}
