// The narrow datastore contract the API server is written against (after kine's pkg/server/types.go).
namespace Appliance.ClusterRuntime.Datastore;

/// <summary>One stored key at one revision.</summary>
/// <param name="Key">Full key, for example <c>/registry/configmaps/default/app</c>.</param>
/// <param name="Value">The stored bytes (JSON of the object).</param>
/// <param name="CreateRevision">Revision at which this key was (last) created.</param>
/// <param name="ModRevision">Revision of the last write; the object's <c>resourceVersion</c>.</param>
/// <param name="Lease">TTL in seconds the key was written with (0 = no expiry).</param>
public sealed record KeyValue(string Key, byte[] Value, long CreateRevision, long ModRevision, long Lease);

/// <summary>What happened to a key.</summary>
public enum WatchEventType
{
    /// <summary>The key was created.</summary>
    Create,
    /// <summary>The key was updated.</summary>
    Update,
    /// <summary>The key was deleted (explicitly, or its lease expired).</summary>
    Delete,
}

/// <summary>One change, in revision order.</summary>
/// <param name="Type">Kind of change.</param>
/// <param name="Kv">The key after the change; for a delete, the last value with <c>ModRevision</c> = the delete's revision.</param>
/// <param name="PrevKv">The key before the change, when known.</param>
public sealed record WatchEvent(WatchEventType Type, KeyValue Kv, KeyValue? PrevKv);

/// <summary>A page of keys.</summary>
/// <param name="Revision">The revision the list was read at.</param>
/// <param name="Items">Keys in ascending key order.</param>
/// <param name="More">True when <c>limit</c> cut the list short; continue from the last key.</param>
public sealed record ListResult(long Revision, IReadOnlyList<KeyValue> Items, bool More);

/// <summary>Thrown when creating a key that exists.</summary>
public sealed class KeyExistsException(string key) : Exception($"key {key} already exists")
{
    /// <summary>The key.</summary>
    public string Key { get; } = key;
}

/// <summary>Thrown when a read or watch asks for a revision older than the compacted one (HTTP 410 Gone).</summary>
public sealed class CompactedException(long requested, long compacted)
    : Exception($"required revision {requested} has been compacted (oldest available is {compacted + 1})")
{
    /// <summary>The revision that was asked for.</summary>
    public long Requested { get; } = requested;
    /// <summary>The compaction point.</summary>
    public long Compacted { get; } = compacted;
}

/// <summary>Thrown when a read asks for a revision newer than the store's current one.</summary>
public sealed class FutureRevisionException(long requested, long current)
    : Exception($"revision {requested} is newer than the current revision {current}")
{
    /// <summary>The revision that was asked for.</summary>
    public long Requested { get; } = requested;
    /// <summary>The current revision.</summary>
    public long Current { get; } = current;
}

/// <summary>
/// A revisioned key-value store. Every write takes the next value of one global revision counter.
/// Implementations: <c>Sqlite/</c> (default) and <c>Postgres/</c>.
/// </summary>
public interface IBackend : IAsyncDisposable
{
    /// <summary>Opens or creates the store (schema, WAL, lease expiry loop).</summary>
    Task StartAsync(CancellationToken ct = default);

    /// <summary>The newest revision.</summary>
    Task<long> CurrentRevisionAsync(CancellationToken ct = default);

    /// <summary>The newest compacted revision (reads below or at it throw <see cref="CompactedException"/>).</summary>
    long CompactRevision { get; }

    /// <summary>
    /// Reads one key at <paramref name="revision"/> (0 = newest). Returns the revision read at, and null when absent.
    /// Throws <see cref="CompactedException"/> for a revision at or below <see cref="CompactRevision"/> and
    /// <see cref="FutureRevisionException"/> for one above the newest.
    /// </summary>
    Task<(long Revision, KeyValue? Kv)> GetAsync(string key, long revision = 0, CancellationToken ct = default);

    /// <summary>Creates a key; throws <see cref="KeyExistsException"/> when it exists. Returns the new revision.</summary>
    Task<long> CreateAsync(string key, byte[] value, long lease = 0, CancellationToken ct = default);

    /// <summary>
    /// Updates a key if its ModRevision equals <paramref name="expectedRevision"/> (optimistic concurrency).
    /// When it does not (or the key is gone), nothing is written and <c>Updated</c> is false;
    /// <c>Kv</c> is then the current value (null if absent).
    /// </summary>
    Task<(long Revision, KeyValue? Kv, bool Updated)> UpdateAsync(string key, byte[] value, long expectedRevision, long lease = 0, CancellationToken ct = default);

    /// <summary>
    /// Deletes a key if its ModRevision equals <paramref name="expectedRevision"/> (0 = unconditional).
    /// <c>Kv</c> is the value that was deleted, or the current value when <c>Deleted</c> is false.
    /// </summary>
    Task<(long Revision, KeyValue? Kv, bool Deleted)> DeleteAsync(string key, long expectedRevision = 0, CancellationToken ct = default);

    /// <summary>
    /// Lists keys that start with <paramref name="prefix"/> and are &gt;= <paramref name="startKey"/>
    /// (empty = from the prefix), at <paramref name="revision"/> (0 = newest), at most <paramref name="limit"/> (0 = all).
    /// For the next page pass the last key + "\0" as <paramref name="startKey"/> and the returned revision.
    /// Throws like <see cref="GetAsync"/> for compacted or future revisions.
    /// </summary>
    Task<ListResult> ListAsync(string prefix, string startKey = "", long limit = 0, long revision = 0, CancellationToken ct = default);

    /// <summary>Counts keys under <paramref name="prefix"/> at the newest revision.</summary>
    Task<(long Revision, long Count)> CountAsync(string prefix, CancellationToken ct = default);

    /// <summary>
    /// Streams every change under <paramref name="prefix"/> with revision &gt; <paramref name="afterRevision"/>,
    /// in revision order, with no gaps or duplicates, until <paramref name="ct"/> is cancelled.
    /// Throws <see cref="CompactedException"/> (on the first MoveNext) when <paramref name="afterRevision"/> is below
    /// <see cref="CompactRevision"/>: events newer than the compact revision are always kept, so watching from
    /// exactly <see cref="CompactRevision"/> works. To watch "from now", pass <see cref="CurrentRevisionAsync"/>'s value
    /// (0 means "from the beginning" and fails once anything is compacted).
    /// The stream ends without error when the backend is disposed.
    /// </summary>
    IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long afterRevision, CancellationToken ct = default);

    /// <summary>Drops history at and below <paramref name="revision"/> (current values are kept).</summary>
    Task CompactAsync(long revision, CancellationToken ct = default);

    /// <summary>Whether writes currently fail for lack of space (reported by <c>/readyz</c>).</summary>
    Integrity.DatastoreHealth Health { get; }
}
