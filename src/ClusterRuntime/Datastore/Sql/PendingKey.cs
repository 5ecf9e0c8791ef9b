// The in-memory state of one volatile key whose newest updates have not been flushed yet.
using System.Collections.Immutable;

namespace Appliance.ClusterRuntime.Datastore.Sql;

/// <summary>Held updates of one volatile key (immutable; the writer swaps whole values).</summary>
/// <param name="BaseRev">The key's newest revision on disk; the flushed row's <c>prev_rev</c>.</param>
/// <param name="ExpiresAt">Lease expiry of the newest held value (Unix ms), or null.</param>
/// <param name="History">The held updates, oldest first; all newer than <paramref name="BaseRev"/>.</param>
internal sealed record PendingKey(long BaseRev, long? ExpiresAt, ImmutableList<WatchEvent> History)
{
    /// <summary>The newest held value.</summary>
    public KeyValue Latest => History[^1].Kv;

    /// <summary>The newest held value at or below <paramref name="revision"/>, or null when all are newer.</summary>
    public KeyValue? At(long revision)
    {
        for (var i = History.Count - 1; i >= 0; i--)
            if (History[i].Kv.ModRevision <= revision) return History[i].Kv;
        return null;
    }
}
