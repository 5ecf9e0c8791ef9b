// What a controller has asked for and not yet seen in its cache (upstream's ControllerExpectations).
namespace Appliance.ClusterRuntime.Controllers.ReplicaSet;

/// <summary>
/// After creating or deleting pods a controller records how many creations and which deletions it expects to see;
/// until its informer has observed them all (or <see cref="Ttl"/> passed) the owner is not synced again, so a burst of
/// events cannot make it count the same missing pods twice. Expectations live in memory: a new leadership term (or a
/// restarted server) starts with none, after its informers listed everything that was written.
/// </summary>
public sealed class Expectations(TimeProvider clock)
{
    /// <summary>How long unmet expectations hold back a sync (upstream's ExpectationsTimeout).</summary>
    public static readonly TimeSpan Ttl = TimeSpan.FromMinutes(5);

    sealed class Entry
    {
        public int Adds;
        public readonly HashSet<string> Deletes = new(StringComparer.Ordinal);
        public DateTimeOffset At;
    }

    readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>True when <paramref name="key"/> may be synced: nothing expected, all observed, or expired.</summary>
    public bool Satisfied(string key)
    {
        lock (_entries)
            return !_entries.TryGetValue(key, out var e) || (e.Adds <= 0 && e.Deletes.Count == 0) || clock.GetUtcNow() - e.At > Ttl;
    }

    /// <summary>Expects <paramref name="count"/> creations for <paramref name="key"/>.</summary>
    public void ExpectCreations(string key, int count)
    {
        lock (_entries) _entries[key] = new Entry { Adds = count, At = clock.GetUtcNow() };
    }

    /// <summary>Expects the deletion of the pods <paramref name="podKeys"/>.</summary>
    public void ExpectDeletions(string key, IEnumerable<string> podKeys)
    {
        var e = new Entry { At = clock.GetUtcNow() };
        e.Deletes.UnionWith(podKeys);
        lock (_entries) _entries[key] = e;
    }

    /// <summary>One expected creation was observed (or will not happen).</summary>
    public void CreationObserved(string key)
    {
        lock (_entries) if (_entries.TryGetValue(key, out var e)) e.Adds--;
    }

    /// <summary>The deletion of <paramref name="podKey"/> was observed (or will not happen).</summary>
    public void DeletionObserved(string key, string podKey)
    {
        lock (_entries) if (_entries.TryGetValue(key, out var e)) e.Deletes.Remove(podKey);
    }

    /// <summary>Forgets <paramref name="key"/> (its owner is gone).</summary>
    public void Forget(string key)
    {
        lock (_entries) _entries.Remove(key);
    }
}
