// The single writer: drains the queue, applies each write inside one transaction, commits once, then publishes.
using System.Collections.Immutable;
using Microsoft.Data.Sqlite;

namespace Appliance.ClusterRuntime.Datastore.Sqlite;

public sealed partial class SqliteBackend
{
    private SqliteCommand _cmdCurrent = null!;
    private SqliteCommand _cmdInsertLog = null!;
    private SqliteCommand _cmdUpsertKv = null!;
    private SqliteCommand _cmdDeleteKv = null!;
    private SqliteCommand _cmdSetMeta = null!;

    /// <summary>The writer's view while it applies one batch; published only when the batch commits.</summary>
    private sealed class Batch(long rev, long compact, long highWater, ImmutableDictionary<string, PendingKey> pending)
    {
        public long Rev = rev;
        public long Compact = compact;
        public long HighWater = highWater;
        public bool HighWaterChanged;
        public bool Shutdown;
        public ImmutableDictionary<string, PendingKey> Pending = pending;
        public readonly List<WatchEvent> Events = [];
    }

    private void PrepareWriterCommands()
    {
        var w = _writer!;
        _cmdCurrent = w.CreateCommand();
        _cmdCurrent.CommandText = "SELECT l.create_rev, l.rev, l.lease, l.value, kv.expires_at FROM kv JOIN log l ON l.rev = kv.rev WHERE kv.key = $k;";
        _cmdCurrent.Parameters.Add("$k", SqliteType.Text);
        _cmdInsertLog = w.CreateCommand();
        _cmdInsertLog.CommandText = "INSERT INTO log(rev, key, kind, create_rev, prev_rev, lease, value) VALUES ($rev, $key, $kind, $cr, $pr, $lease, $value);";
        foreach (var p in new[] { "$rev", "$kind", "$cr", "$pr", "$lease" }) _cmdInsertLog.Parameters.Add(p, SqliteType.Integer);
        _cmdInsertLog.Parameters.Add("$key", SqliteType.Text);
        _cmdInsertLog.Parameters.Add("$value", SqliteType.Blob);
        _cmdUpsertKv = w.CreateCommand();
        _cmdUpsertKv.CommandText = "INSERT INTO kv(key, rev, expires_at) VALUES ($k, $r, $e) ON CONFLICT(key) DO UPDATE SET rev = excluded.rev, expires_at = excluded.expires_at;";
        _cmdUpsertKv.Parameters.Add("$k", SqliteType.Text);
        _cmdUpsertKv.Parameters.Add("$r", SqliteType.Integer);
        _cmdUpsertKv.Parameters.Add("$e", SqliteType.Integer);
        _cmdDeleteKv = w.CreateCommand();
        _cmdDeleteKv.CommandText = "DELETE FROM kv WHERE key = $k;";
        _cmdDeleteKv.Parameters.Add("$k", SqliteType.Text);
        _cmdSetMeta = w.CreateCommand();
        _cmdSetMeta.CommandText = "INSERT INTO meta(name, value) VALUES ($n, $v) ON CONFLICT(name) DO UPDATE SET value = excluded.value;";
        _cmdSetMeta.Parameters.Add("$n", SqliteType.Text);
        _cmdSetMeta.Parameters.Add("$v", SqliteType.Integer);
    }

    private async Task WriterLoopAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<WriteOp>(MaxBatch);
        var stopped = false;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < MaxBatch && reader.TryRead(out var op))
            {
                if (stopped) op.Done.TrySetException(new ObjectDisposedException(nameof(SqliteBackend)));
                else batch.Add(op);
            }
            if (batch.Count == 0) continue;
            try
            {
                stopped |= ExecuteBatch(batch);
            }
            catch (Exception e)
            {
                // Could not even begin the transaction (I/O error, disk full): fail this batch, keep serving.
                var error = Health.Observe(e); // dbhealth: SQLITE_FULL -> StorageFullException, /readyz failing
                foreach (var op in batch) op.Done.TrySetException(error);
            }
            batch.Clear();
        }
    }

    /// <summary>Applies and commits one batch; returns true when it held the shutdown request.</summary>
    private bool ExecuteBatch(List<WriteOp> ops)
    {
        var b = new Batch(_rev, _compactRev, _highWater, _pending);
        var results = new (WriteResult Result, Exception? Error)[ops.Count];
        using (var tx = _writer!.BeginTransaction())
        {
            foreach (var c in new[] { _cmdCurrent, _cmdInsertLog, _cmdUpsertKv, _cmdDeleteKv, _cmdSetMeta }) c.Transaction = tx;
            try
            {
                for (var i = 0; i < ops.Count; i++)
                {
                    try
                    {
                        results[i] = (Apply(ops[i], b), null);
                    }
                    catch (Exception e) when (e is FutureRevisionException or ArgumentException)
                    {
                        results[i] = (default, e);
                    }
                }
                if (b.Pending.Values.Sum(p => p.History.Count) > MaxPendingEvents) FlushAll(b);
                if (b.Shutdown)
                {
                    // Clean stop: everything is on disk, so the exact revision is the high-water mark.
                    b.HighWater = b.Rev;
                    b.HighWaterChanged = true;
                }
                if (b.HighWaterChanged) SetMeta(SqliteSchema.MetaHighWater, b.HighWater);
                // Commit and publish under the snapshot lock: a reader that pins its snapshot must never see rows
                // of a commit whose revision is not yet published (it would label them with an older revision).
                lock (_snapshotLock)
                {
                    tx.Commit();
                    Volatile.Write(ref _rev, b.Rev);
                    Volatile.Write(ref _compactRev, b.Compact);
                    _pending = b.Pending;
                    _broadcaster.Publish(b.Events);
                }
            }
            catch (Exception e)
            {
                try { tx.Rollback(); } catch (Exception) { }
                var error = Health.Observe(e); // dbhealth: SQLITE_FULL -> StorageFullException, /readyz failing
                foreach (var op in ops) op.Done.TrySetException(error);
                return false;
            }
        }
        Interlocked.Increment(ref _commits);
        _highWater = b.HighWater;
        for (var i = 0; i < ops.Count; i++)
        {
            if (results[i].Error is { } err) ops[i].Done.TrySetException(err);
            else ops[i].Done.TrySetResult(results[i].Result);
        }
        return b.Shutdown;
    }

    private WriteResult Apply(WriteOp op, Batch b)
    {
        switch (op.Kind)
        {
            case WriteKind.Create:
                return ApplyCreate(op, b);
            case WriteKind.Update:
                return ApplyUpdate(op, b);
            case WriteKind.Delete:
                return ApplyDelete(op.Key, op.Expected, b);
            case WriteKind.Compact:
                ApplyCompact(op.Revision, b);
                return new WriteResult(b.Rev, null, true);
            case WriteKind.Flush:
                FlushAll(b);
                return new WriteResult(b.Rev, null, true);
            case WriteKind.Expire:
                ApplyExpire(b);
                return new WriteResult(b.Rev, null, true);
            case WriteKind.Shutdown:
                FlushAll(b);
                b.Shutdown = true;
                return new WriteResult(b.Rev, null, true);
            default:
                throw new ArgumentException($"unknown write kind {op.Kind}");
        }
    }

    private WriteResult ApplyCreate(WriteOp op, Batch b)
    {
        var (cur, _) = Current(op.Key, b);
        if (cur is not null) return new WriteResult(b.Rev, cur, false);
        var rev = ++b.Rev;
        InsertLog(rev, op.Key, SqliteSchema.KindCreate, rev, 0, op.Lease, op.Value);
        UpsertKv(op.Key, rev, ExpiresAt(op.Lease));
        var kv = new KeyValue(op.Key, op.Value, rev, rev, op.Lease);
        b.Events.Add(new WatchEvent(WatchEventType.Create, kv, null));
        return new WriteResult(rev, kv, true);
    }

    private WriteResult ApplyUpdate(WriteOp op, Batch b)
    {
        var (cur, _) = Current(op.Key, b);
        if (cur is null || cur.ModRevision != op.Expected) return new WriteResult(b.Rev, cur, false);
        var rev = ++b.Rev;
        var kv = new KeyValue(op.Key, op.Value, cur.CreateRevision, rev, op.Lease);
        var ev = new WatchEvent(WatchEventType.Update, kv, cur);
        if (_options.VolatileKeys?.IsVolatileUpdate(op.Key, cur.Value, op.Value) == true)
        {
            var held = b.Pending.TryGetValue(op.Key, out var p)
                ? p with { ExpiresAt = ExpiresAt(op.Lease), History = p.History.Add(ev) }
                : new PendingKey(cur.ModRevision, ExpiresAt(op.Lease), [ev]);
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
            InsertLog(rev, op.Key, SqliteSchema.KindUpdate, cur.CreateRevision, cur.ModRevision, op.Lease, op.Value);
            UpsertKv(op.Key, rev, ExpiresAt(op.Lease));
        }
        b.Events.Add(ev);
        return new WriteResult(rev, kv, true);
    }

    private WriteResult ApplyDelete(string key, long expected, Batch b)
    {
        var (cur, _) = Current(key, b);
        if (cur is null || (expected != 0 && cur.ModRevision != expected)) return new WriteResult(b.Rev, cur, false);
        FlushKey(key, b);
        var rev = ++b.Rev;
        InsertLog(rev, key, SqliteSchema.KindDelete, cur.CreateRevision, cur.ModRevision, cur.Lease, null);
        _cmdDeleteKv.Parameters["$k"].Value = key;
        _cmdDeleteKv.ExecuteNonQuery();
        b.Events.Add(new WatchEvent(WatchEventType.Delete, cur with { ModRevision = rev }, cur));
        return new WriteResult(rev, cur, true);
    }

    private void ApplyCompact(long revision, Batch b)
    {
        if (revision > b.Rev) throw new FutureRevisionException(revision, b.Rev);
        if (revision <= b.Compact) return;
        using var cmd = _writer!.CreateCommand();
        cmd.Transaction = _cmdSetMeta.Transaction;
        // Keep, per key, the newest row at or below the compact revision unless it is a delete:
        // reads above the compact revision still need it. Everything older goes.
        cmd.CommandText = """
            DELETE FROM log WHERE rev <= $c AND (kind = 2 OR EXISTS (
              SELECT 1 FROM log n WHERE n.key = log.key AND n.rev > log.rev AND n.rev <= $c));
            """;
        cmd.Parameters.AddWithValue("$c", revision);
        cmd.ExecuteNonQuery();
        SetMeta(SqliteSchema.MetaCompact, revision);
        // The newest row may have been a compacted delete: keep the counter from going back on restart.
        if (b.Rev > b.HighWater)
        {
            b.HighWater = b.Rev;
            b.HighWaterChanged = true;
        }
        b.Compact = revision;
    }

    private void ApplyExpire(Batch b)
    {
        var now = _options.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var expired = new SortedSet<string>(StringComparer.Ordinal);
        using (var cmd = _writer!.CreateCommand())
        {
            cmd.Transaction = _cmdSetMeta.Transaction;
            cmd.CommandText = "SELECT key FROM kv WHERE expires_at IS NOT NULL AND expires_at <= $now;";
            cmd.Parameters.AddWithValue("$now", now);
            using var r = cmd.ExecuteReader();
            while (r.Read()) expired.Add(r.GetString(0));
        }
        foreach (var (key, p) in b.Pending)
        {
            if (p.ExpiresAt is { } e && e <= now) expired.Add(key);
        }
        foreach (var key in expired)
        {
            // A held renewal may have moved the expiry past now.
            if (b.Pending.TryGetValue(key, out var p) && (p.ExpiresAt is null || p.ExpiresAt > now)) continue;
            ApplyDelete(key, 0, b);
        }
    }

    private void FlushAll(Batch b)
    {
        foreach (var key in b.Pending.Keys.ToArray()) FlushKey(key, b);
    }

    /// <summary>Writes the newest held value of a volatile key as one row (its intermediate updates are folded away).</summary>
    private void FlushKey(string key, Batch b)
    {
        if (!b.Pending.TryGetValue(key, out var p)) return;
        var last = p.Latest;
        InsertLog(last.ModRevision, key, SqliteSchema.KindUpdate, last.CreateRevision, p.BaseRev, last.Lease, last.Value);
        UpsertKv(key, last.ModRevision, p.ExpiresAt);
        b.Pending = b.Pending.Remove(key);
    }

    /// <summary>The key's newest value as this batch sees it (held value first), with its lease expiry.</summary>
    private (KeyValue? Kv, long? ExpiresAt) Current(string key, Batch b)
    {
        if (b.Pending.TryGetValue(key, out var p)) return (p.Latest, p.ExpiresAt);
        _cmdCurrent.Parameters["$k"].Value = key;
        using var r = _cmdCurrent.ExecuteReader();
        if (!r.Read()) return (null, null);
        var kv = new KeyValue(key, (byte[])r.GetValue(3), r.GetInt64(0), r.GetInt64(1), r.GetInt64(2));
        return (kv, r.IsDBNull(4) ? null : r.GetInt64(4));
    }

    private void InsertLog(long rev, string key, int kind, long createRev, long prevRev, long lease, byte[]? value)
    {
        var p = _cmdInsertLog.Parameters;
        p["$rev"].Value = rev;
        p["$key"].Value = key;
        p["$kind"].Value = kind;
        p["$cr"].Value = createRev;
        p["$pr"].Value = prevRev;
        p["$lease"].Value = lease;
        p["$value"].Value = value is null ? DBNull.Value : value;
        _cmdInsertLog.ExecuteNonQuery();
    }

    private void UpsertKv(string key, long rev, long? expiresAt)
    {
        var p = _cmdUpsertKv.Parameters;
        p["$k"].Value = key;
        p["$r"].Value = rev;
        p["$e"].Value = expiresAt is { } e ? e : DBNull.Value;
        _cmdUpsertKv.ExecuteNonQuery();
    }

    private void SetMeta(string name, long value)
    {
        _cmdSetMeta.Parameters["$n"].Value = name;
        _cmdSetMeta.Parameters["$v"].Value = value;
        _cmdSetMeta.ExecuteNonQuery();
    }

    private long? ExpiresAt(long lease) =>
        lease > 0 ? _options.Time.GetUtcNow().ToUnixTimeMilliseconds() + lease * 1000 : null;
}
