// The writer loop: one transaction per batch, serialized across servers by a row lock on meta.rev.
using Npgsql;
using NpgsqlTypes;

namespace Appliance.ClusterRuntime.Datastore.Postgres;

public sealed partial class PostgresBackend
{
    private const short KindCreate = 0, KindUpdate = 1, KindDelete = 2;

    /// <summary>The writer's view of one batch.</summary>
    private sealed class Batch(NpgsqlConnection conn, NpgsqlTransaction tx, long rev, long compact)
    {
        public NpgsqlConnection Conn { get; } = conn;
        public NpgsqlTransaction Tx { get; } = tx;
        public long Rev = rev;
        public long Compact = compact;

        public NpgsqlCommand Command(string sql, params object?[] args)
        {
            var cmd = new NpgsqlCommand(sql, Conn, Tx);
            foreach (var a in args) cmd.Parameters.Add(a is NpgsqlParameter p ? p : new NpgsqlParameter { Value = a ?? DBNull.Value });
            return cmd;
        }
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
                }
                catch (Exception e)
                {
                    foreach (var op in ops) op.Done.TrySetException(e);
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
            long rev, compact;
            await using (var lockRev = new NpgsqlCommand("SELECT value FROM meta WHERE name = 'rev' FOR UPDATE;", conn, tx))
                rev = (long)(await lockRev.ExecuteScalarAsync().ConfigureAwait(false))!;
            compact = await MetaAsync(conn, tx, "compact_rev", default).ConfigureAwait(false);
            var b = new Batch(conn, tx, rev, compact);
            for (var i = 0; i < ops.Count; i++)
            {
                try
                {
                    results[i] = (await ApplyAsync(ops[i], b).ConfigureAwait(false), null);
                }
                catch (FutureRevisionException e)
                {
                    results[i] = (default, e);
                }
            }
            if (b.Rev != rev)
            {
                await using var set = b.Command("UPDATE meta SET value = $1 WHERE name = 'rev'; ", b.Rev);
                await set.ExecuteNonQueryAsync().ConfigureAwait(false);
                await using var notify = b.Command($"SELECT pg_notify('{PostgresSchema.Channel}', $1);", b.Rev.ToString(System.Globalization.CultureInfo.InvariantCulture));
                await notify.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
            await tx.CommitAsync().ConfigureAwait(false);
            Volatile.Write(ref _compactRev, b.Compact);
        }
        for (var i = 0; i < ops.Count; i++)
        {
            if (results[i].Error is { } err) ops[i].Done.TrySetException(err);
            else ops[i].Done.TrySetResult(results[i].Result);
        }
    }

    private async Task<WriteResult> ApplyAsync(WriteOp op, Batch b)
    {
        switch (op.Kind)
        {
            case WriteKind.Create:
            {
                var cur = await CurrentAsync(op.Key, b).ConfigureAwait(false);
                if (cur is not null) return new WriteResult(b.Rev, cur, false);
                var rev = ++b.Rev;
                await InsertLogAsync(b, rev, op.Key, KindCreate, rev, 0, op.Lease, op.Value).ConfigureAwait(false);
                await UpsertKvAsync(b, op.Key, rev, op.Lease).ConfigureAwait(false);
                return new WriteResult(rev, new KeyValue(op.Key, op.Value, rev, rev, op.Lease), true);
            }
            case WriteKind.Update:
            {
                var cur = await CurrentAsync(op.Key, b).ConfigureAwait(false);
                if (cur is null || cur.ModRevision != op.Expected) return new WriteResult(b.Rev, cur, false);
                var rev = ++b.Rev;
                await InsertLogAsync(b, rev, op.Key, KindUpdate, cur.CreateRevision, cur.ModRevision, op.Lease, op.Value).ConfigureAwait(false);
                await UpsertKvAsync(b, op.Key, rev, op.Lease).ConfigureAwait(false);
                return new WriteResult(rev, new KeyValue(op.Key, op.Value, cur.CreateRevision, rev, op.Lease), true);
            }
            case WriteKind.Delete:
                return await DeleteInBatchAsync(op.Key, op.Expected, b).ConfigureAwait(false);
            case WriteKind.Compact:
                await CompactInBatchAsync(op.Revision, b).ConfigureAwait(false);
                return new WriteResult(b.Rev, null, true);
            case WriteKind.Expire:
                await ExpireInBatchAsync(b).ConfigureAwait(false);
                return new WriteResult(b.Rev, null, true);
            default:
                // Flush and Shutdown concern held volatile updates, which this backend does not keep.
                return new WriteResult(b.Rev, null, true);
        }
    }

    private async Task<WriteResult> DeleteInBatchAsync(string key, long expected, Batch b)
    {
        var cur = await CurrentAsync(key, b).ConfigureAwait(false);
        if (cur is null || (expected != 0 && cur.ModRevision != expected)) return new WriteResult(b.Rev, cur, false);
        var rev = ++b.Rev;
        await InsertLogAsync(b, rev, key, KindDelete, cur.CreateRevision, cur.ModRevision, cur.Lease, null).ConfigureAwait(false);
        await using var del = b.Command("DELETE FROM kv WHERE key = $1;", key);
        await del.ExecuteNonQueryAsync().ConfigureAwait(false);
        return new WriteResult(rev, cur, true);
    }

    private static async Task CompactInBatchAsync(long revision, Batch b)
    {
        if (revision > b.Rev) throw new FutureRevisionException(revision, b.Rev);
        if (revision <= b.Compact) return;
        await using (var cmd = b.Command("""
            DELETE FROM log WHERE rev <= $1 AND (kind = 2 OR EXISTS (
              SELECT 1 FROM log n WHERE n.key = log.key AND n.rev > log.rev AND n.rev <= $1));
            """, revision))
            await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        await using (var set = b.Command("UPDATE meta SET value = $1 WHERE name = 'compact_rev';", revision))
            await set.ExecuteNonQueryAsync().ConfigureAwait(false);
        b.Compact = revision;
    }

    private async Task ExpireInBatchAsync(Batch b)
    {
        var expired = new List<(string Key, long Rev)>();
        await using (var cmd = b.Command("SELECT key, rev FROM kv WHERE expires_at IS NOT NULL AND expires_at <= $1 ORDER BY key;", Now()))
        await using (var r = await cmd.ExecuteReaderAsync().ConfigureAwait(false))
            while (await r.ReadAsync().ConfigureAwait(false)) expired.Add((r.GetString(0), r.GetInt64(1)));
        foreach (var (key, rev) in expired) await DeleteInBatchAsync(key, rev, b).ConfigureAwait(false);
    }

    private static async Task<KeyValue?> CurrentAsync(string key, Batch b)
    {
        await using var cmd = b.Command("SELECT l.create_rev, l.rev, l.lease, l.value FROM kv JOIN log l ON l.rev = kv.rev WHERE kv.key = $1;", key);
        await using var r = await cmd.ExecuteReaderAsync().ConfigureAwait(false);
        if (!await r.ReadAsync().ConfigureAwait(false)) return null;
        return new KeyValue(key, (byte[])r.GetValue(3), r.GetInt64(0), r.GetInt64(1), r.GetInt64(2));
    }

    private static async Task InsertLogAsync(Batch b, long rev, string key, short kind, long createRev, long prevRev, long lease, byte[]? value)
    {
        await using var cmd = b.Command("INSERT INTO log(rev, key, kind, create_rev, prev_rev, lease, value) VALUES ($1, $2, $3, $4, $5, $6, $7);",
            rev, key, kind, createRev, prevRev, lease, new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = (object?)value ?? DBNull.Value });
        await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    private async Task UpsertKvAsync(Batch b, string key, long rev, long lease)
    {
        await using var cmd = b.Command("INSERT INTO kv(key, rev, expires_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET rev = excluded.rev, expires_at = excluded.expires_at;",
            key, rev, new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = lease > 0 ? Now() + lease * 1000 : DBNull.Value });
        await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    private long Now() => _options.Time.GetUtcNow().ToUnixTimeMilliseconds();
}
