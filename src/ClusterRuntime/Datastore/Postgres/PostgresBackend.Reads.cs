// Reads: a REPEATABLE READ transaction, so the revision in meta and the rows come from one snapshot.
using System.Data;
using System.Text;
using Npgsql;

namespace Appliance.ClusterRuntime.Datastore.Postgres;

public sealed partial class PostgresBackend
{
    /// <summary>A read-only snapshot with the revision and compact revision it holds.</summary>
    private sealed class ReadSnapshot : IAsyncDisposable
    {
        public required NpgsqlConnection Conn { get; init; }
        public required NpgsqlTransaction Tx { get; init; }
        public long Rev { get; set; }
        public long Compact { get; set; }

        public NpgsqlCommand Command(string sql, params object?[] args)
        {
            var cmd = new NpgsqlCommand(sql, Conn, Tx);
            foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a ?? DBNull.Value });
            return cmd;
        }

        public async ValueTask DisposeAsync()
        {
            await Tx.DisposeAsync().ConfigureAwait(false);
            await Conn.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<ReadSnapshot> OpenSnapshotAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var conn = await Source.OpenConnectionAsync(ct).ConfigureAwait(false);
        var tx = await conn.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct).ConfigureAwait(false);
        var s = new ReadSnapshot { Conn = conn, Tx = tx };
        try
        {
            await using var cmd = s.Command("SELECT name, value FROM meta WHERE name IN ('rev', 'compact_rev');");
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                if (r.GetString(0) == "rev") s.Rev = r.GetInt64(1);
                else s.Compact = r.GetInt64(1);
            }
            return s;
        }
        catch
        {
            await s.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static long ResolveRevision(ReadSnapshot s, long revision)
    {
        if (revision == 0) return s.Rev;
        if (revision > s.Rev) throw new FutureRevisionException(revision, s.Rev);
        if (revision <= s.Compact) throw new CompactedException(revision, s.Compact);
        return revision;
    }

    /// <inheritdoc />
    public async Task<(long Revision, KeyValue? Kv)> GetAsync(string key, long revision = 0, CancellationToken ct = default)
    {
        await using var s = await OpenSnapshotAsync(ct).ConfigureAwait(false);
        var at = ResolveRevision(s, revision);
        await using var cmd = s.Command("SELECT create_rev, rev, lease, value, kind FROM log WHERE key = $1 AND rev <= $2 ORDER BY rev DESC LIMIT 1;", key, at);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await r.ReadAsync(ct).ConfigureAwait(false) || r.GetInt16(4) == KindDelete) return (at, null);
        return (at, new KeyValue(key, (byte[])r.GetValue(3), r.GetInt64(0), r.GetInt64(1), r.GetInt64(2)));
    }

    /// <inheritdoc />
    public async Task<ListResult> ListAsync(string prefix, string startKey = "", long limit = 0, long revision = 0, CancellationToken ct = default)
    {
        await using var s = await OpenSnapshotAsync(ct).ConfigureAwait(false);
        var at = ResolveRevision(s, revision);
        var end = KeyRange.PrefixEnd(prefix);
        // PostgreSQL text cannot hold NUL, so "last key + \0" (the next-page convention) becomes "after last key".
        var start = KeyRange.Start(prefix, startKey);
        var op = ">=";
        if (start.EndsWith('\0'))
        {
            start = start.TrimEnd('\0');
            op = ">";
        }
        var args = new List<object?> { start };
        var sql = new StringBuilder();
        if (at == s.Rev)
        {
            sql.Append($"SELECT kv.key, l.create_rev, l.rev, l.lease, l.value FROM kv JOIN log l ON l.rev = kv.rev WHERE kv.key {op} $1");
            if (end is not null) { args.Add(end); sql.Append(" AND kv.key < $2"); }
            sql.Append(" ORDER BY kv.key");
        }
        else
        {
            sql.Append($"SELECT key, create_rev, rev, lease, value FROM (SELECT DISTINCT ON (key) key, kind, create_rev, rev, lease, value FROM log WHERE key {op} $1");
            if (end is not null) { args.Add(end); sql.Append(" AND key < $2"); }
            args.Add(at);
            sql.Append($" AND rev <= ${args.Count} ORDER BY key, rev DESC) t WHERE kind <> 2 ORDER BY key");
        }
        if (limit > 0)
        {
            args.Add(limit + 1);
            sql.Append($" LIMIT ${args.Count}");
        }
        await using var cmd = s.Command(sql.ToString(), [.. args]);
        var items = new List<KeyValue>();
        var more = false;
        await using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                if (limit > 0 && items.Count == limit)
                {
                    more = true;
                    break;
                }
                items.Add(new KeyValue(r.GetString(0), (byte[])r.GetValue(4), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3)));
            }
        }
        return new ListResult(at, items, more);
    }

    /// <inheritdoc />
    public async Task<(long Revision, long Count)> CountAsync(string prefix, CancellationToken ct = default)
    {
        await using var s = await OpenSnapshotAsync(ct).ConfigureAwait(false);
        var end = KeyRange.PrefixEnd(prefix);
        await using var cmd = end is null
            ? s.Command("SELECT COUNT(*) FROM kv WHERE key >= $1;", prefix)
            : s.Command("SELECT COUNT(*) FROM kv WHERE key >= $1 AND key < $2;", prefix, end);
        return (s.Rev, (long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!);
    }
}
