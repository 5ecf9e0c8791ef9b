// The single writer: drains the queue, applies each write in memory in queue order, stores the rows in one transaction, commits, then publishes.
using System.Collections.Immutable;
using System.Data.Common;

namespace Appliance.ClusterRuntime.Datastore.Sql;

public partial class SqlBackend
{
    /// <summary>The writer's view while it applies one batch; published only when the batch commits.</summary>
    private sealed class Batch(DbTransaction tx, long rev, long compact, long highWater, ImmutableDictionary<string, PendingKey> pending, Dictionary<string, StoredKey> keys)
    {
        public DbTransaction Tx { get; } = tx;
        public long Rev = rev;
        public long Compact = compact;
        public long HighWater = highWater;
        public bool HighWaterChanged;
        public bool CompactChanged;
        public bool Shutdown;
        /// <summary>True once anything of this batch was handed to the dialect to store.</summary>
        public bool Stored;
        public ImmutableDictionary<string, PendingKey> Pending = pending;
        /// <summary>Each named key's value on disk as this batch has left it so far.</summary>
        public readonly Dictionary<string, StoredKey> Keys = keys;
        public readonly HashSet<string> Touched = new(StringComparer.Ordinal);
        public readonly List<LogRow> Rows = [];
        public readonly List<WatchEvent> Events = [];
    }

    private async Task WriterLoopAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<WriteOp>(_dialect.MaxBatch);
        var stopped = false;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < _dialect.MaxBatch && reader.TryRead(out var op))
            {
                if (stopped) op.Done.TrySetException(new ObjectDisposedException(GetType().Name));
                else batch.Add(op);
            }
            if (batch.Count == 0) continue;
            var tick = batch.Exists(o => o.Kind == WriteKind.Expire);
            stopped |= await ExecuteBatchAsync(batch).ConfigureAwait(false);
            batch.Clear();
            if (tick && !stopped) await ReviewHoldAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// On a shared database: while holding, let go (after writing every held update) when another server waits;
    /// while not holding, start holding again when this server is alone.
    /// </summary>
    private async Task ReviewHoldAsync()
    {
        if (!_dialect.SharedDatabase || _options.VolatileKeys is null) return;
        try
        {
            if (_holding)
            {
                if (!await _dialect.HoldWantedAsync().ConfigureAwait(false)) return;
                var flush = new WriteOp(WriteKind.Flush);
                await ExecuteBatchAsync([flush]).ConfigureAwait(false);
                if (!flush.Done.Task.IsCompletedSuccessfully) return;
                await SetHoldingAsync(false).ConfigureAwait(false);
                await _dialect.ReleaseHoldAsync().ConfigureAwait(false);
            }
            else if (await _dialect.TryHoldAsync().ConfigureAwait(false))
            {
                // Publish what other servers wrote before they left; from now on this writer publishes.
                await PublishFromLogAsync(force: true, _stop.Token).ConfigureAwait(false);
                await SetHoldingAsync(true).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is DbException or IOException or InvalidOperationException or TimeoutException or OperationCanceledException)
        {
            // The next tick tries again.
        }
    }

    private async Task SetHoldingAsync(bool holding)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        _holding = holding;
        _gate.Release();
    }

    /// <summary>Applies, stores and commits one batch, then answers every write; returns true when it held the shutdown request.</summary>
    private async Task<bool> ExecuteBatchAsync(List<WriteOp> ops)
    {
        var results = new (WriteResult Result, Exception? Error)[ops.Count];
        Batch b;
        try
        {
            var (tx, reconnected) = await _dialect.BeginWriteAsync().ConfigureAwait(false);
            await using (tx.ConfigureAwait(false))
            {
                if (reconnected && _holding)
                {
                    // The session that made this server the only holder is gone, so another server may have started:
                    // the held updates are lost as in a crash (their revisions stay reserved by the high-water mark).
                    await _gate.WaitAsync().ConfigureAwait(false);
                    _holding = false;
                    _pending = _pending.Clear();
                    _gate.Release();
                }
                var holding = _holding;
                var now = Now();
                var keys = ops.Where(o => o.Kind is WriteKind.Create or WriteKind.Update or WriteKind.Delete).Select(o => o.Key).Distinct(StringComparer.Ordinal).ToArray();
                var expire = ops.Exists(o => o.Kind == WriteKind.Expire);
                // Other servers may write: lock the counter, but not for a lease-expiry pass that finds nothing to delete
                // (a lock is a write, and an idle server runs one pass a second).
                var mustLock = _dialect.SharedDatabase && !holding;
                var quiet = _pending.IsEmpty && ops.TrueForAll(o => o.Kind is WriteKind.Expire or WriteKind.Flush or WriteKind.Shutdown);
                var start = await _dialect.LoadAsync(tx, keys, expire ? now : null, lockCounter: mustLock && !quiet).ConfigureAwait(false);
                if (mustLock && quiet && start.Expired.Count > 0)
                    start = await _dialect.LoadAsync(tx, keys, now, lockCounter: true).ConfigureAwait(false);
                b = new Batch(tx, Math.Max(_rev, start.Rev ?? 0), Math.Max(_compactRev, start.Compact ?? 0), _highWater, _pending, start.Keys);
                for (var i = 0; i < ops.Count; i++)
                {
                    try
                    {
                        results[i] = (await ApplyAsync(ops[i], b, holding, start.Expired, now).ConfigureAwait(false), null);
                    }
                    catch (Exception e) when (e is FutureRevisionException or ArgumentException)
                    {
                        results[i] = (default, e);
                    }
                }
                if (b.Pending.Values.Sum(p => p.History.Count) > MaxPendingEvents) FlushAll(b);
                // A clean stop with nobody else writing: everything is on disk, so the exact revision is the high-water mark.
                if (b.Shutdown && (holding || !_dialect.SharedDatabase))
                {
                    b.HighWater = b.Rev;
                    b.HighWaterChanged = true;
                }
                var meta = new List<(string, long)>();
                if (b.HighWaterChanged) meta.Add((MetaName.HighWater, b.HighWater));
                if (b.CompactChanged) meta.Add((MetaName.Compact, b.Compact));
                await StoreAsync(b, meta).ConfigureAwait(false);
                await _gate.WaitAsync().ConfigureAwait(false);
                try
                {
                    await tx.CommitAsync().ConfigureAwait(false);
                    Volatile.Write(ref _compactRev, Math.Max(_compactRev, b.Compact));
                    if (WriterPublishes)
                    {
                        Volatile.Write(ref _rev, b.Rev);
                        _pending = b.Pending;
                        _broadcaster.Publish(b.Events);
                    }
                }
                finally
                {
                    _gate.Release();
                }
                if (b.Stored)
                {
                    Interlocked.Increment(ref _commits);
                    Health.WriteSucceeded();
                }
            }
        }
        catch (Exception e)
        {
            // Nothing of this batch is committed (I/O error, disk full, lost server): fail it, keep serving.
            // A full disk becomes a typed error (507) and turns /readyz failing until space returns.
            var error = Health.Observe(e);
            foreach (var op in ops) op.Done.TrySetException(error);
            return ops.Exists(o => o.Kind == WriteKind.Shutdown);
        }
        _highWater = b.HighWater;
        for (var i = 0; i < ops.Count; i++)
        {
            if (results[i].Error is { } err) ops[i].Done.TrySetException(err);
            else ops[i].Done.TrySetResult(results[i].Result);
        }
        return b.Shutdown;
    }

    private async Task<WriteResult> ApplyAsync(WriteOp op, Batch b, bool holding, List<string> expired, long now)
    {
        switch (op.Kind)
        {
            case WriteKind.Create:
                return ApplyCreate(op, b, now);
            case WriteKind.Update:
                return ApplyUpdate(op, b, holding, now);
            case WriteKind.Delete:
                return ApplyDelete(op.Key, op.Expected, b);
            case WriteKind.Compact:
                await ApplyCompactAsync(op.Revision, b).ConfigureAwait(false);
                return new WriteResult(b.Rev, null, true);
            case WriteKind.Flush:
                FlushAll(b);
                return new WriteResult(b.Rev, null, true);
            case WriteKind.Expire:
                ApplyExpire(b, expired, now);
                return new WriteResult(b.Rev, null, true);
            case WriteKind.Shutdown:
                FlushAll(b);
                b.Shutdown = true;
                return new WriteResult(b.Rev, null, true);
            default:
                throw new ArgumentException($"unknown write kind {op.Kind}");
        }
    }

    private static WriteResult ApplyCreate(WriteOp op, Batch b, long now)
    {
        var cur = Current(op.Key, b).Kv;
        if (cur is not null) return new WriteResult(b.Rev, cur, false);
        var rev = ++b.Rev;
        var kv = new KeyValue(op.Key, op.Value, rev, rev, op.Lease);
        Put(b, new LogRow(rev, op.Key, LogKind.Create, rev, 0, op.Lease, op.Value), new StoredKey(kv, ExpiresAt(op.Lease, now)));
        b.Events.Add(new WatchEvent(WatchEventType.Create, kv, null));
        return new WriteResult(rev, kv, true);
    }

    private WriteResult ApplyUpdate(WriteOp op, Batch b, bool holding, long now)
    {
        var cur = Current(op.Key, b).Kv;
        if (cur is null || cur.ModRevision != op.Expected) return new WriteResult(b.Rev, cur, false);
        var rev = ++b.Rev;
        var kv = new KeyValue(op.Key, op.Value, cur.CreateRevision, rev, op.Lease);
        var ev = new WatchEvent(WatchEventType.Update, kv, cur);
        if (holding && _options.VolatileKeys?.IsVolatileUpdate(op.Key, cur.Value, op.Value) == true)
        {
            var held = b.Pending.TryGetValue(op.Key, out var p)
                ? p with { ExpiresAt = ExpiresAt(op.Lease, now), History = p.History.Add(ev) }
                : new PendingKey(cur.ModRevision, ExpiresAt(op.Lease, now), [ev]);
            b.Pending = b.Pending.SetItem(op.Key, held);
            if (rev > b.HighWater)
            {
                // Reserve a block of revisions so a crash never lets a lost volatile revision be handed out again.
                b.HighWater = rev + HighWaterBlock;
                b.HighWaterChanged = true;
            }
        }
        else
        {
            FlushKey(op.Key, b);
            Put(b, new LogRow(rev, op.Key, LogKind.Update, cur.CreateRevision, cur.ModRevision, op.Lease, op.Value), new StoredKey(kv, ExpiresAt(op.Lease, now)));
        }
        b.Events.Add(ev);
        return new WriteResult(rev, kv, true);
    }

    private static WriteResult ApplyDelete(string key, long expected, Batch b)
    {
        var cur = Current(key, b).Kv;
        if (cur is null || (expected != 0 && cur.ModRevision != expected)) return new WriteResult(b.Rev, cur, false);
        FlushKey(key, b);
        var rev = ++b.Rev;
        Put(b, new LogRow(rev, key, LogKind.Delete, cur.CreateRevision, cur.ModRevision, cur.Lease, null), default);
        b.Events.Add(new WatchEvent(WatchEventType.Delete, cur with { ModRevision = rev }, cur));
        return new WriteResult(rev, cur, true);
    }

    private async Task ApplyCompactAsync(long revision, Batch b)
    {
        if (revision > b.Rev) throw new FutureRevisionException(revision, b.Rev);
        if (revision <= b.Compact) return;
        // Rows this batch computed so far must be in the table before compaction looks at it.
        await StoreAsync(b, []).ConfigureAwait(false);
        // Keep, per key, the newest row at or below the compact revision unless it is a delete:
        // reads above the compact revision still need it. Everything older goes.
        await using var cmd = Command(b.Tx.Connection!, b.Tx, """
            DELETE FROM log WHERE rev <= @c AND (kind = 2 OR EXISTS (
              SELECT 1 FROM log n WHERE n.key = log.key AND n.rev > log.rev AND n.rev <= @c));
            """, ("@c", revision));
        await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        b.Compact = revision;
        b.CompactChanged = true;
        // The newest row may have been a compacted delete: keep the counter from going back on restart.
        if (b.Rev > b.HighWater)
        {
            b.HighWater = b.Rev;
            b.HighWaterChanged = true;
        }
    }

    private static void ApplyExpire(Batch b, List<string> expiredOnDisk, long now)
    {
        var expired = new SortedSet<string>(expiredOnDisk, StringComparer.Ordinal);
        foreach (var (key, p) in b.Pending)
            if (p.ExpiresAt is { } e && e <= now) expired.Add(key);
        foreach (var key in expired)
        {
            // A held renewal, or an update earlier in this batch, may have moved the expiry past now.
            if (Current(key, b) is not { Kv: not null, ExpiresAt: { } at } || at > now) continue;
            ApplyDelete(key, 0, b);
        }
    }

    private static void FlushAll(Batch b)
    {
        foreach (var key in b.Pending.Keys.Order(StringComparer.Ordinal).ToArray()) FlushKey(key, b);
    }

    /// <summary>Writes the newest held value of a volatile key as one row (its intermediate updates are folded away).</summary>
    private static void FlushKey(string key, Batch b)
    {
        if (!b.Pending.TryGetValue(key, out var p)) return;
        var last = p.Latest;
        Put(b, new LogRow(last.ModRevision, key, LogKind.Update, last.CreateRevision, p.BaseRev, last.Lease, last.Value), new StoredKey(last, p.ExpiresAt));
        b.Pending = b.Pending.Remove(key);
    }

    /// <summary>The key's newest value as this batch sees it (held value first), with its lease expiry.</summary>
    private static StoredKey Current(string key, Batch b)
    {
        if (b.Pending.TryGetValue(key, out var p)) return new StoredKey(p.Latest, p.ExpiresAt);
        return b.Keys.TryGetValue(key, out var s) ? s : default;
    }

    private static void Put(Batch b, LogRow row, StoredKey state)
    {
        b.Rows.Add(row);
        b.Keys[row.Key] = state;
        b.Touched.Add(row.Key);
    }

    /// <summary>Hands the rows computed so far, each touched key's final pointer and <paramref name="meta"/> to the dialect.</summary>
    private async Task StoreAsync(Batch b, List<(string, long)> meta)
    {
        if (b.Rows.Count == 0 && b.Touched.Count == 0 && meta.Count == 0) return;
        var pointers = b.Touched.Order(StringComparer.Ordinal)
            .Select(k => b.Keys[k] is { Kv: { } kv, ExpiresAt: var e } ? new KvPointer(k, kv.ModRevision, e) : new KvPointer(k, 0, null)).ToList();
        await _dialect.WriteAsync(b.Tx, b.Rows, pointers, meta, b.Rev).ConfigureAwait(false);
        b.Stored = true;
        b.Rows.Clear();
        b.Touched.Clear();
    }

    private long Now() => _options.Time.GetUtcNow().ToUnixTimeMilliseconds();

    private static long? ExpiresAt(long lease, long now) => lease > 0 ? now + lease * 1000 : null;
}
