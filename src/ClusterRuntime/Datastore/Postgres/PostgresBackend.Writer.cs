// The writer loop: one transaction per batch, serialized across servers by a row lock on meta.rev, in a few round trips.
using Npgsql;
using NpgsqlTypes;

namespace Appliance.ClusterRuntime.Datastore.Postgres;

public sealed partial class PostgresBackend
{
    private const short KindCreate = 0, KindUpdate = 1, KindDelete = 2;

    /// <summary>A key's state as the batch sees it: its value and lease expiry, or absent.</summary>
    private readonly record struct KeyState(KeyValue? Kv, long? ExpiresAt);

    /// <summary>
    /// The writer's view of one batch. Current values of every key the batch touches are read in one query; the
    /// writes are computed in memory in queue order and sent as array inserts, so a batch costs a handful of round
    /// trips however many writes it holds.
    /// </summary>
    private sealed class Batch(NpgsqlConnection conn, NpgsqlTransaction tx, long rev, long compact)
    {
        public NpgsqlConnection Conn { get; } = conn;
        public NpgsqlTransaction Tx { get; } = tx;
        public long Rev = rev;
        public long Compact = compact;
        public readonly Dictionary<string, KeyState> State = new(StringComparer.Ordinal);
        public readonly HashSet<string> Touched = new(StringComparer.Ordinal);
        public readonly List<(long Rev, string Key, short Kind, long CreateRev, long PrevRev, long Lease, byte[]? Value)> Log = [];
    }

    private async Task WriterLoopAsync()
    {
        var reader = _queue.Reader;
        var ops = new List<WriteOp>(MaxBatch);
        NpgsqlConnection? conn = null;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (ops.Count < MaxBatch && reader.TryRead(out var op)) ops.Add(op);
                if (ops.Count == 0) continue;
                try
                {
                    if (conn is null || conn.FullState != System.Data.ConnectionState.Open)
                    {
                        if (conn is not null) await conn.DisposeAsync().ConfigureAwait(false);
                        conn = await Source.OpenConnectionAsync().ConfigureAwait(false);
                    }
                    await ExecuteBatchAsync(conn, ops).ConfigureAwait(false);
                    Health.WriteSucceeded(); // dbhealth
                }
                catch (Exception e)
                {
                    var error = Health.Observe(e); // dbhealth: disk_full (53100) -> StorageFullException, /readyz failing
                    foreach (var op in ops) op.Done.TrySetException(error);
                }
                ops.Clear();
            }
        }
        finally
        {
            if (conn is not null) await conn.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task ExecuteBatchAsync(NpgsqlConnection conn, List<WriteOp> ops)
    {
        var results = new (WriteResult Result, Exception? Error)[ops.Count];
        await using (var tx = await conn.BeginTransactionAsync().ConfigureAwait(false))
        {
            var now = Now();
            var keys = ops.Where(o => o.Kind is WriteKind.Create or WriteKind.Update or WriteKind.Delete).Select(o => o.Key).Distinct(StringComparer.Ordinal).ToArray();
            var withExpiry = ops.Any(o => o.Kind == WriteKind.Expire);
            // One round trip: lock meta.rev (serializes every writer on this database until commit) and read the
            // current value of every key the batch names, plus every expired key when the batch expires leases.
            await using var read = new NpgsqlBatch(conn, tx);
            read.BatchCommands.Add(Command("SELECT name, value FROM meta WHERE name IN ('rev', 'compact_rev') FOR UPDATE;"));
            var load = new NpgsqlBatchCommand(
                "SELECT kv.key, l.create_rev, l.rev, l.lease, l.value, kv.expires_at FROM kv JOIN log l ON l.rev = kv.rev WHERE kv.key = ANY($1)"
                + (withExpiry ? " OR (kv.expires_at IS NOT NULL AND kv.expires_at <= $2);" : ";"));
            load.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = keys });
            if (withExpiry) load.Parameters.Add(new NpgsqlParameter { Value = now });
            read.BatchCommands.Add(load);
            long rev = 0, compact = 0;
            var state = new Dictionary<string, KeyState>(StringComparer.Ordinal);
            foreach (var k in keys) state[k] = default;
            var expired = new List<string>();
            await using (var r = await read.ExecuteReaderAsync().ConfigureAwait(false))
            {
                while (await r.ReadAsync().ConfigureAwait(false))
                {
                    if (r.GetString(0) == "rev") rev = r.GetInt64(1);
                    else compact = r.GetInt64(1);
                }
                await r.NextResultAsync().ConfigureAwait(false);
                while (await r.ReadAsync().ConfigureAwait(false))
                {
                    var key = r.GetString(0);
                    long? expiresAt = r.IsDBNull(5) ? null : r.GetInt64(5);
                    state[key] = new KeyState(new KeyValue(key, (byte[])r.GetValue(4), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3)), expiresAt);
                    if (withExpiry && expiresAt <= now) expired.Add(key);
                }
            }
            expired.Sort(StringComparer.Ordinal);
            var b = new Batch(conn, tx, rev, compact);
            foreach (var (k, v) in state) b.State[k] = v;
            for (var i = 0; i < ops.Count; i++)
            {
                try
                {
                    results[i] = (await ApplyAsync(ops[i], b, expired, now).ConfigureAwait(false), null);
                }
                catch (FutureRevisionException e)
                {
                    results[i] = (default, e);
                }
            }
            // One round trip for every row, the new revision and the NOTIFY (delivered at commit).
            await WritePendingAsync(b, b.Rev != rev).ConfigureAwait(false);
            await tx.CommitAsync().ConfigureAwait(false);
            Volatile.Write(ref _compactRev, b.Compact);
        }
        for (var i = 0; i < ops.Count; i++)
        {
            if (results[i].Error is { } err) ops[i].Done.TrySetException(err);
            else ops[i].Done.TrySetResult(results[i].Result);
        }
    }

    private async Task<WriteResult> ApplyAsync(WriteOp op, Batch b, List<string> expired, long now)
    {
        switch (op.Kind)
        {
            case WriteKind.Create:
            {
                var cur = b.State[op.Key].Kv;
                if (cur is not null) return new WriteResult(b.Rev, cur, false);
                var rev = ++b.Rev;
                var kv = new KeyValue(op.Key, op.Value, rev, rev, op.Lease);
                Put(b, new(rev, op.Key, KindCreate, rev, 0, op.Lease, op.Value), new KeyState(kv, ExpiresAt(op.Lease, now)));
                return new WriteResult(rev, kv, true);
            }
            case WriteKind.Update:
            {
                var cur = b.State[op.Key].Kv;
                if (cur is null || cur.ModRevision != op.Expected) return new WriteResult(b.Rev, cur, false);
                var rev = ++b.Rev;
                var kv = new KeyValue(op.Key, op.Value, cur.CreateRevision, rev, op.Lease);
                Put(b, new(rev, op.Key, KindUpdate, cur.CreateRevision, cur.ModRevision, op.Lease, op.Value), new KeyState(kv, ExpiresAt(op.Lease, now)));
                return new WriteResult(rev, kv, true);
            }
            case WriteKind.Delete:
                return Delete(op.Key, op.Expected, b);
            case WriteKind.Compact:
                await CompactInBatchAsync(op.Revision, b).ConfigureAwait(false);
                return new WriteResult(b.Rev, null, true);
            case WriteKind.Expire:
                foreach (var key in expired)
                {
                    // An update earlier in this batch may have extended the lease.
                    if (b.State[key] is { Kv: not null, ExpiresAt: { } e } && e <= now) Delete(key, 0, b);
                }
                return new WriteResult(b.Rev, null, true);
            default:
                // Flush and Shutdown concern held volatile updates, which this backend does not keep.
                return new WriteResult(b.Rev, null, true);
        }
    }

    private static WriteResult Delete(string key, long expected, Batch b)
    {
        var cur = b.State[key].Kv;
        if (cur is null || (expected != 0 && cur.ModRevision != expected)) return new WriteResult(b.Rev, cur, false);
        var rev = ++b.Rev;
        Put(b, new(rev, key, KindDelete, cur.CreateRevision, cur.ModRevision, cur.Lease, null), new KeyState(null, null));
        return new WriteResult(rev, cur, true);
    }

    private static void Put(Batch b, (long, string, short, long, long, long, byte[]?) row, KeyState state)
    {
        b.Log.Add(row);
        b.State[row.Item2] = state;
        b.Touched.Add(row.Item2);
    }

    private async Task CompactInBatchAsync(long revision, Batch b)
    {
        if (revision > b.Rev) throw new FutureRevisionException(revision, b.Rev);
        if (revision <= b.Compact) return;
        // Rows this batch wrote so far must be in the table before compaction looks at it.
        await WritePendingAsync(b).ConfigureAwait(false);
        await using var cmd = new NpgsqlBatch(b.Conn, b.Tx);
        cmd.BatchCommands.Add(Command("""
            DELETE FROM log WHERE rev <= $1 AND (kind = 2 OR EXISTS (
              SELECT 1 FROM log n WHERE n.key = log.key AND n.rev > log.rev AND n.rev <= $1));
            """, revision));
        cmd.BatchCommands.Add(Command("UPDATE meta SET value = $1 WHERE name = 'compact_rev';", revision));
        await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        b.Compact = revision;
    }

    /// <summary>
    /// Sends the rows computed so far (log rows as one array insert, then each touched key's final pointer) and,
    /// with <paramref name="announce"/>, the new revision and its NOTIFY.
    /// </summary>
    private static async Task WritePendingAsync(Batch b, bool announce = false)
    {
        if (b.Log.Count == 0 && !announce) return;
        await using var batch = new NpgsqlBatch(b.Conn, b.Tx);
        if (announce)
        {
            batch.BatchCommands.Add(Command("UPDATE meta SET value = $1 WHERE name = 'rev';", b.Rev));
            batch.BatchCommands.Add(Command($"SELECT pg_notify('{PostgresSchema.Channel}', $1);", b.Rev.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        if (b.Log.Count == 0)
        {
            await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
            return;
        }
        var log = new NpgsqlBatchCommand("""
            INSERT INTO log(rev, key, kind, create_rev, prev_rev, lease, value)
            SELECT * FROM unnest($1::bigint[], $2::text[], $3::smallint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bytea[]);
            """);
        log.Parameters.Add(new NpgsqlParameter { Value = b.Log.Select(x => x.Rev).ToArray() });
        log.Parameters.Add(new NpgsqlParameter { Value = b.Log.Select(x => x.Key).ToArray() });
        log.Parameters.Add(new NpgsqlParameter { Value = b.Log.Select(x => x.Kind).ToArray() });
        log.Parameters.Add(new NpgsqlParameter { Value = b.Log.Select(x => x.CreateRev).ToArray() });
        log.Parameters.Add(new NpgsqlParameter { Value = b.Log.Select(x => x.PrevRev).ToArray() });
        log.Parameters.Add(new NpgsqlParameter { Value = b.Log.Select(x => x.Lease).ToArray() });
        log.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea, Value = b.Log.Select(x => x.Value).ToArray() });
        batch.BatchCommands.Add(log);

        var live = b.Touched.Where(k => b.State[k].Kv is not null).ToArray();
        var gone = b.Touched.Where(k => b.State[k].Kv is null).ToArray();
        if (gone.Length > 0)
        {
            var del = new NpgsqlBatchCommand("DELETE FROM kv WHERE key = ANY($1);");
            del.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = gone });
            batch.BatchCommands.Add(del);
        }
        if (live.Length > 0)
        {
            var up = new NpgsqlBatchCommand("""
                INSERT INTO kv(key, rev, expires_at) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
                ON CONFLICT (key) DO UPDATE SET rev = excluded.rev, expires_at = excluded.expires_at;
                """);
            up.Parameters.Add(new NpgsqlParameter { Value = live });
            up.Parameters.Add(new NpgsqlParameter { Value = live.Select(k => b.State[k].Kv!.ModRevision).ToArray() });
            up.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = live.Select(k => b.State[k].ExpiresAt).ToArray() });
            batch.BatchCommands.Add(up);
        }
        await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
        b.Log.Clear();
        b.Touched.Clear();
    }

    private static NpgsqlBatchCommand Command(string sql, params object[] args)
    {
        var cmd = new NpgsqlBatchCommand(sql);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        return cmd;
    }

    private static long? ExpiresAt(long lease, long now) => lease > 0 ? now + lease * 1000 : null;

    private long Now() => _options.Time.GetUtcNow().ToUnixTimeMilliseconds();
}
