// An in-memory IBackend for unit tests of the API layer (the real stores are tested under Datastore/).
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Appliance.ClusterRuntime.Datastore;

namespace Appliance.ClusterRuntime.Tests.Api;

/// <summary>Keeps every revision in a list; good for a few thousand writes.</summary>
internal sealed class MemoryBackend : IBackend
{
    readonly object _gate = new();
    readonly SortedDictionary<string, KeyValue> _current = new(StringComparer.Ordinal);
    readonly List<WatchEvent> _log = [];
    readonly List<Channel<WatchEvent>> _watchers = [];
    long _revision;
    long _compacted;

    public long CompactRevision { get { lock (_gate) return _compacted; } }

    public Task StartAsync(CancellationToken ct = default) => Task.CompletedTask;

    public Task<long> CurrentRevisionAsync(CancellationToken ct = default) { lock (_gate) return Task.FromResult(_revision); }

    public Task<(long Revision, KeyValue? Kv)> GetAsync(string key, long revision = 0, CancellationToken ct = default)
    {
        lock (_gate)
        {
            if (revision == 0) return Task.FromResult((_revision, _current.GetValueOrDefault(key)));
            Check(revision);
            return Task.FromResult((revision, At(revision).GetValueOrDefault(key)));
        }
    }

    public Task<long> CreateAsync(string key, byte[] value, long lease = 0, CancellationToken ct = default)
    {
        lock (_gate)
        {
            if (_current.ContainsKey(key)) throw new KeyExistsException(key);
            var rev = ++_revision;
            var kv = new KeyValue(key, value, rev, rev, lease);
            _current[key] = kv;
            Publish(new WatchEvent(WatchEventType.Create, kv, null));
            return Task.FromResult(rev);
        }
    }

    public Task<(long Revision, KeyValue? Kv, bool Updated)> UpdateAsync(string key, byte[] value, long expectedRevision, long lease = 0, CancellationToken ct = default)
    {
        lock (_gate)
        {
            var cur = _current.GetValueOrDefault(key);
            if (cur is null || cur.ModRevision != expectedRevision) return Task.FromResult((_revision, cur, false));
            var rev = ++_revision;
            var kv = new KeyValue(key, value, cur.CreateRevision, rev, lease);
            _current[key] = kv;
            Publish(new WatchEvent(WatchEventType.Update, kv, cur));
            return Task.FromResult<(long, KeyValue?, bool)>((rev, kv, true));
        }
    }

    public Task<(long Revision, KeyValue? Kv, bool Deleted)> DeleteAsync(string key, long expectedRevision = 0, CancellationToken ct = default)
    {
        lock (_gate)
        {
            var cur = _current.GetValueOrDefault(key);
            if (cur is null || (expectedRevision != 0 && cur.ModRevision != expectedRevision)) return Task.FromResult((_revision, cur, false));
            var rev = ++_revision;
            _current.Remove(key);
            Publish(new WatchEvent(WatchEventType.Delete, cur with { ModRevision = rev }, cur));
            return Task.FromResult<(long, KeyValue?, bool)>((rev, cur, true));
        }
    }

    public Task<ListResult> ListAsync(string prefix, string startKey = "", long limit = 0, long revision = 0, CancellationToken ct = default)
    {
        lock (_gate)
        {
            if (revision != 0) Check(revision);
            var source = revision == 0 ? _current : At(revision);
            var items = source.Values.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) && string.CompareOrdinal(kv.Key, startKey) >= 0).ToList();
            bool more = limit > 0 && items.Count > limit;
            if (more) items = items.Take((int)limit).ToList();
            return Task.FromResult(new ListResult(revision == 0 ? _revision : revision, items, more));
        }
    }

    public Task<(long Revision, long Count)> CountAsync(string prefix, CancellationToken ct = default)
    {
        lock (_gate) return Task.FromResult((_revision, (long)_current.Keys.Count(k => k.StartsWith(prefix, StringComparison.Ordinal))));
    }

    public async IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long afterRevision, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var channel = Channel.CreateUnbounded<WatchEvent>();
        lock (_gate)
        {
            if (afterRevision < _compacted) throw new CompactedException(afterRevision, _compacted);
            foreach (var ev in _log.Where(e => e.Kv.ModRevision > afterRevision)) channel.Writer.TryWrite(ev);
            _watchers.Add(channel);
        }
        try
        {
            await foreach (var ev in channel.Reader.ReadAllAsync(ct))
                if (ev.Kv.Key.StartsWith(prefix, StringComparison.Ordinal)) yield return ev;
        }
        finally
        {
            lock (_gate) _watchers.Remove(channel);
        }
    }

    public Task CompactAsync(long revision, CancellationToken ct = default)
    {
        lock (_gate)
        {
            _compacted = Math.Max(_compacted, revision);
            _log.RemoveAll(e => e.Kv.ModRevision <= _compacted);
        }
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        lock (_gate) foreach (var w in _watchers) w.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }

    void Publish(WatchEvent ev)
    {
        _log.Add(ev);
        foreach (var w in _watchers) w.Writer.TryWrite(ev);
    }

    void Check(long revision)
    {
        if (revision <= _compacted) throw new CompactedException(revision, _compacted);
        if (revision > _revision) throw new FutureRevisionException(revision, _revision);
    }

    SortedDictionary<string, KeyValue> At(long revision)
    {
        var state = new SortedDictionary<string, KeyValue>(StringComparer.Ordinal);
        foreach (var ev in _log.Where(e => e.Kv.ModRevision <= revision))
        {
            if (ev.Type == WatchEventType.Delete) state.Remove(ev.Kv.Key);
            else state[ev.Kv.Key] = ev.Kv;
        }
        // Keys whose history was compacted away keep their current value when it predates the revision.
        foreach (var kv in _current.Values)
            if (kv.ModRevision <= revision && !state.ContainsKey(kv.Key) && !_log.Any(e => e.Kv.Key == kv.Key && e.Kv.ModRevision <= revision))
                state[kv.Key] = kv;
        return state;
    }
}
