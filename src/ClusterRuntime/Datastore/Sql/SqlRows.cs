// The rows the shared SQL core and its dialects pass to each other: log rows, live-key pointers, stored state.
namespace Appliance.ClusterRuntime.Datastore.Sql;

/// <summary><c>log.kind</c> values (the same in every dialect).</summary>
internal static class LogKind
{
    /// <summary>A create.</summary>
    public const int Create = 0;
    /// <summary>An update.</summary>
    public const int Update = 1;
    /// <summary>A delete (its <c>value</c> is NULL).</summary>
    public const int Delete = 2;
}

/// <summary>Names in the <c>meta</c> table.</summary>
internal static class MetaName
{
    /// <summary>The compact revision.</summary>
    public const string Compact = "compact_rev";
    /// <summary>Revision high-water mark: revisions up to it may have been handed out (to held volatile updates).</summary>
    public const string HighWater = "rev_high_water";
    /// <summary>The newest committed revision (PostgreSQL only: servers sharing the database serialize on it).</summary>
    public const string Rev = "rev";
}

/// <summary>One row of the revision log.</summary>
internal readonly record struct LogRow(long Rev, string Key, int Kind, long CreateRev, long PrevRev, long Lease, byte[]? Value);

/// <summary>A live key's <c>kv</c> pointer after a batch; <paramref name="Rev"/> 0 means the key is gone.</summary>
internal readonly record struct KvPointer(string Key, long Rev, long? ExpiresAt);

/// <summary>A key's current value on disk with its lease expiry (Unix ms).</summary>
internal readonly record struct StoredKey(KeyValue? Kv, long? ExpiresAt);

/// <summary>What the store holds when it opens.</summary>
/// <param name="Rev">The newest revision on disk.</param>
/// <param name="Compact">The compact revision.</param>
/// <param name="HighWater">The revision high-water mark.</param>
internal readonly record struct StoredState(long Rev, long Compact, long HighWater);

/// <summary>What a write batch reads first: the current value of every key it names, and the expired keys.</summary>
/// <param name="Rev">The stored revision counter, when the dialect keeps one (PostgreSQL), else null.</param>
/// <param name="Compact">The stored compact revision, when other servers may change it, else null.</param>
/// <param name="Keys">Current value of every named and every expired key (absent keys map to an empty <see cref="StoredKey"/>).</param>
/// <param name="Expired">Keys whose stored lease expired, in ordinal order.</param>
internal sealed record BatchStart(long? Rev, long? Compact, Dictionary<string, StoredKey> Keys, List<string> Expired);
