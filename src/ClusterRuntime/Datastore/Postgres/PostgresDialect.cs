// The PostgreSQL dialect: batches in a few round trips (array loads and unnest inserts), servers serialize on meta.rev.
using System.Data;
using System.Data.Common;
using System.Globalization;
using Appliance.ClusterRuntime.Datastore.Sql;
using Npgsql;
using NpgsqlTypes;

namespace Appliance.ClusterRuntime.Datastore.Postgres;

/// <summary>
/// <see cref="ISqlDialect"/> for PostgreSQL. A batch costs three round trips whatever its size: load (every named key
/// in one <c>= ANY</c> query, plus the counter row locked when other servers may write), store (array inserts, the new
/// counter and a NOTIFY), commit. The writer's session holds the presence lock (see <see cref="PostgresSchema"/>).
/// </summary>
internal sealed class PostgresDialect(PostgresBackendOptions options) : ISqlDialect
{
    private static readonly string Lock = $"{PostgresSchema.PresenceLockClass}, {PostgresSchema.PresenceLockId}";
    private NpgsqlDataSource? _source;
    private NpgsqlConnection? _writer;
    private NpgsqlConnection? _listen;

    public bool SharedDatabase => true;

    public int MaxBatch => 256;

    private NpgsqlDataSource Source => _source ?? throw new InvalidOperationException("the datastore is not started");

    public async Task<StoredState> OpenAsync(CancellationToken ct)
    {
        _source = NpgsqlDataSource.Create(options.ConnectionString);
        await using (var conn = await _source.OpenConnectionAsync(ct).ConfigureAwait(false))
        await using (var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false))
        {
            await using (var lockCmd = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({PostgresSchema.SchemaLockId});", conn, tx))
                await lockCmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await using (var ddl = new NpgsqlCommand(PostgresSchema.Ddl, conn, tx))
                await ddl.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
        }
        // Waits while another server holds volatile updates; that server writes them and lets go within a second or so.
        _writer = await OpenWriterAsync(ct).ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand("SELECT name, value FROM meta;", _writer);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        long rev = 0, compact = 0, highWater = 0;
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            switch (r.GetString(0))
            {
                case MetaName.Rev: rev = r.GetInt64(1); break;
                case MetaName.Compact: compact = r.GetInt64(1); break;
                case MetaName.HighWater: highWater = r.GetInt64(1); break;
            }
        }
        return new StoredState(rev, compact, highWater);
    }

    private async Task<NpgsqlConnection> OpenWriterAsync(CancellationToken ct)
    {
        var conn = await Source.OpenConnectionAsync(ct).ConfigureAwait(false);
        try
        {
            await using var cmd = new NpgsqlCommand($"SELECT pg_advisory_lock_shared({Lock});", conn) { CommandTimeout = 0 };
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return conn;
        }
        catch
        {
            await conn.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task<(DbTransaction Tx, bool Reconnected)> BeginWriteAsync()
    {
        var reconnected = false;
        if (_writer is null || _writer.FullState != ConnectionState.Open)
        {
            if (_writer is not null) await _writer.DisposeAsync().ConfigureAwait(false);
            _writer = null;
            _writer = await OpenWriterAsync(CancellationToken.None).ConfigureAwait(false);
            reconnected = true;
        }
        return (await _writer.BeginTransactionAsync().ConfigureAwait(false), reconnected);
    }

    public async Task<BatchStart> LoadAsync(DbTransaction tx, IReadOnlyCollection<string> keys, long? expireNow, bool lockCounter)
    {
        var ptx = (NpgsqlTransaction)tx;
        // One round trip: the counter (locked until commit when other servers may write) and the current value of every
        // key the batch names, plus every expired key when the batch expires leases.
        await using var read = new NpgsqlBatch(ptx.Connection, ptx);
        read.BatchCommands.Add(new NpgsqlBatchCommand(
            $"SELECT name, value FROM meta WHERE name IN ('{MetaName.Rev}', '{MetaName.Compact}')" + (lockCounter ? " FOR UPDATE;" : ";")));
        var load = new NpgsqlBatchCommand(
            "SELECT kv.key, l.create_rev, l.rev, l.lease, l.value, kv.expires_at FROM kv JOIN log l ON l.rev = kv.rev WHERE kv.key = ANY($1)"
            + (expireNow is null ? ";" : " OR (kv.expires_at IS NOT NULL AND kv.expires_at <= $2);"));
        load.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = keys.ToArray() });
        if (expireNow is { } now) load.Parameters.Add(new NpgsqlParameter { Value = now });
        read.BatchCommands.Add(load);
        long rev = 0, compact = 0;
        var loaded = new Dictionary<string, StoredKey>(StringComparer.Ordinal);
        foreach (var k in keys) loaded[k] = default;
        var expired = new List<string>();
        await using (var r = await read.ExecuteReaderAsync().ConfigureAwait(false))
        {
            while (await r.ReadAsync().ConfigureAwait(false))
            {
                if (r.GetString(0) == MetaName.Rev) rev = r.GetInt64(1);
                else compact = r.GetInt64(1);
            }
            await r.NextResultAsync().ConfigureAwait(false);
            while (await r.ReadAsync().ConfigureAwait(false))
            {
                var key = r.GetString(0);
                long? expiresAt = r.IsDBNull(5) ? null : r.GetInt64(5);
                loaded[key] = new StoredKey(new KeyValue(key, (byte[])r.GetValue(4), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3)), expiresAt);
                if (expiresAt <= expireNow) expired.Add(key);
            }
        }
        expired.Sort(StringComparer.Ordinal);
        return new BatchStart(rev, compact, loaded, expired);
    }

    public async Task WriteAsync(DbTransaction tx, IReadOnlyList<LogRow> rows, IReadOnlyList<KvPointer> pointers, IReadOnlyList<(string Name, long Value)> meta, long rev)
    {
        var ptx = (NpgsqlTransaction)tx;
        await using var batch = new NpgsqlBatch(ptx.Connection, ptx);
        if (rows.Count > 0)
        {
            // The new counter, and a NOTIFY (delivered at commit) that wakes the other servers' pollers.
            batch.BatchCommands.Add(Command($"UPDATE meta SET value = $1 WHERE name = '{MetaName.Rev}';", rev));
            batch.BatchCommands.Add(Command($"SELECT pg_notify('{PostgresSchema.Channel}', $1);", rev.ToString(CultureInfo.InvariantCulture)));
            var log = new NpgsqlBatchCommand("""
                INSERT INTO log(rev, key, kind, create_rev, prev_rev, lease, value)
                SELECT * FROM unnest($1::bigint[], $2::text[], $3::smallint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bytea[]);
                """);
            log.Parameters.Add(new NpgsqlParameter { Value = rows.Select(x => x.Rev).ToArray() });
            log.Parameters.Add(new NpgsqlParameter { Value = rows.Select(x => x.Key).ToArray() });
            log.Parameters.Add(new NpgsqlParameter { Value = rows.Select(x => (short)x.Kind).ToArray() });
            log.Parameters.Add(new NpgsqlParameter { Value = rows.Select(x => x.CreateRev).ToArray() });
            log.Parameters.Add(new NpgsqlParameter { Value = rows.Select(x => x.PrevRev).ToArray() });
            log.Parameters.Add(new NpgsqlParameter { Value = rows.Select(x => x.Lease).ToArray() });
            log.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea, Value = rows.Select(x => x.Value).ToArray() });
            batch.BatchCommands.Add(log);
        }
        var gone = pointers.Where(p => p.Rev == 0).Select(p => p.Key).ToArray();
        var live = pointers.Where(p => p.Rev != 0).ToArray();
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
            up.Parameters.Add(new NpgsqlParameter { Value = live.Select(p => p.Key).ToArray() });
            up.Parameters.Add(new NpgsqlParameter { Value = live.Select(p => p.Rev).ToArray() });
            up.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = live.Select(p => p.ExpiresAt).ToArray() });
            batch.BatchCommands.Add(up);
        }
        foreach (var (name, value) in meta)
            batch.BatchCommands.Add(Command("INSERT INTO meta(name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value;", name, value));
        if (batch.BatchCommands.Count > 0) await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    // Succeeds only when no other server holds the presence lock (this session's own shared hold does not conflict).
    public async Task<bool> TryHoldAsync() => await WriterScalarAsync($"SELECT pg_try_advisory_lock({Lock});").ConfigureAwait(false) is true;

    public async Task<bool> HoldWantedAsync() => await WriterScalarAsync($"""
        SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND classid = {PostgresSchema.PresenceLockClass} AND objid = {PostgresSchema.PresenceLockId} AND objsubid = 2);
        """).ConfigureAwait(false) is true;

    public async Task ReleaseHoldAsync() => await WriterScalarAsync($"SELECT pg_advisory_unlock({Lock});").ConfigureAwait(false);

    private async Task<object?> WriterScalarAsync(string sql)
    {
        if (_writer is null || _writer.FullState != ConnectionState.Open) return null;
        await using var cmd = new NpgsqlCommand(sql, _writer);
        return await cmd.ExecuteScalarAsync().ConfigureAwait(false);
    }

    public async Task<(DbConnection Conn, DbTransaction Tx)> OpenReadAsync(CancellationToken ct)
    {
        var conn = await Source.OpenConnectionAsync(ct).ConfigureAwait(false);
        try
        {
            return (conn, await conn.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct).ConfigureAwait(false));
        }
        catch
        {
            await conn.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task<(long? Rev, long? Compact)> PinAsync(DbTransaction tx, CancellationToken ct)
    {
        // The first query of a REPEATABLE READ transaction fixes its snapshot; the counter comes from the same snapshot.
        var ptx = (NpgsqlTransaction)tx;
        await using var cmd = new NpgsqlCommand($"SELECT name, value FROM meta WHERE name IN ('{MetaName.Rev}', '{MetaName.Compact}');", ptx.Connection, ptx);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        long rev = 0, compact = 0;
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            if (r.GetString(0) == MetaName.Rev) rev = r.GetInt64(1);
            else compact = r.GetInt64(1);
        }
        return (rev, compact);
    }

    public async Task<long?> StoredRevisionAsync(CancellationToken ct)
    {
        await using var conn = await Source.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand($"SELECT value FROM meta WHERE name = '{MetaName.Rev}';", conn);
        return (long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    public string NewestLiveRevisionPerKey(string where) =>
        $"SELECT key, rev FROM (SELECT DISTINCT ON (key) key, rev, kind FROM log WHERE {where} ORDER BY key, rev DESC) n WHERE kind <> 2";

    public async Task WaitForChangeAsync(CancellationToken ct)
    {
        try
        {
            if (_listen is null)
            {
                _listen = await Source.OpenConnectionAsync(ct).ConfigureAwait(false);
                await using var cmd = new NpgsqlCommand($"LISTEN {PostgresSchema.Channel};", _listen);
                await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            await _listen.WaitAsync(options.PollInterval, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (_listen is not null) await _listen.DisposeAsync().ConfigureAwait(false);
            _listen = null;
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_listen is not null) await _listen.DisposeAsync().ConfigureAwait(false);
        if (_writer is not null) await _writer.DisposeAsync().ConfigureAwait(false);
        if (_source is not null) await _source.DisposeAsync().ConfigureAwait(false);
    }

    private static NpgsqlBatchCommand Command(string sql, params object[] args)
    {
        var cmd = new NpgsqlBatchCommand(sql);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        return cmd;
    }
}
