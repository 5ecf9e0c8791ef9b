// Reads: a pooled connection in a read transaction whose snapshot matches the published revision and held values.
using System.Collections.Immutable;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Appliance.ClusterRuntime.Datastore.Sqlite;

public sealed partial class SqliteBackend
{
    /// <summary>A read transaction plus the in-memory state that was published at the same instant.</summary>
    private sealed class ReadSnapshot(SqliteConnection connection, SqliteTransaction tx, long rev, long compact,
        ImmutableDictionary<string, PendingKey> pending) : IDisposable
    {
        public SqliteConnection Connection { get; } = connection;
        public SqliteTransaction Tx { get; } = tx;
        public long Rev { get; } = rev;
        public long Compact { get; } = compact;
        public ImmutableDictionary<string, PendingKey> Pending { get; } = pending;

        public SqliteCommand Command(string sql)
        {
            var cmd = Connection.CreateCommand();
            cmd.Transaction = Tx;
            cmd.CommandText = sql;
            return cmd;
        }

        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            Tx.Dispose();
            Connection.Dispose();
        }
    }

    /// <summary>
    /// Opens a read transaction and pins its snapshot while the writer cannot publish, so the snapshot holds
    /// exactly the revisions up to <see cref="ReadSnapshot.Rev"/>. <paramref name="subscribe"/> runs under the same lock.
    /// </summary>
    private ReadSnapshot OpenSnapshot(Action? subscribe = null)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_writer is null) throw new InvalidOperationException("the datastore is not started");
        var conn = new SqliteConnection(_readConnectionString);
        conn.Open();
        var tx = conn.BeginTransaction(deferred: true);
        try
        {
            using var pin = conn.CreateCommand();
            pin.Transaction = tx;
            pin.CommandText = "SELECT COUNT(*) FROM meta;";
            lock (_snapshotLock)
            {
                // The first read of a deferred transaction fixes its snapshot; the writer publishes under this lock
                // only after its commit, so nothing newer than _rev can be in the snapshot.
                pin.ExecuteScalar();
                subscribe?.Invoke();
                return new ReadSnapshot(conn, tx, _rev, _compactRev, _pending);
            }
        }
        catch
        {
            tx.Dispose();
            conn.Dispose();
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
    public Task<(long Revision, KeyValue? Kv)> GetAsync(string key, long revision = 0, CancellationToken ct = default)
    {
        using var s = OpenSnapshot();
        var at = ResolveRevision(s, revision);
        if (s.Pending.TryGetValue(key, out var p) && p.At(at) is { } held)
            return Task.FromResult<(long, KeyValue?)>((at, held));
        using var cmd = s.Command(at == s.Rev
            ? "SELECT l.create_rev, l.rev, l.lease, l.value, l.kind FROM kv JOIN log l ON l.rev = kv.rev WHERE kv.key = $k;"
            : "SELECT create_rev, rev, lease, value, kind FROM log WHERE key = $k AND rev <= $at ORDER BY rev DESC LIMIT 1;");
        cmd.Parameters.AddWithValue("$k", key);
        cmd.Parameters.AddWithValue("$at", at);
        using var r = cmd.ExecuteReader();
        KeyValue? kv = null;
        if (r.Read() && r.GetInt32(4) != SqliteSchema.KindDelete)
            kv = new KeyValue(key, (byte[])r.GetValue(3), r.GetInt64(0), r.GetInt64(1), r.GetInt64(2));
        return Task.FromResult((at, kv));
    }

    /// <inheritdoc />
    public Task<ListResult> ListAsync(string prefix, string startKey = "", long limit = 0, long revision = 0, CancellationToken ct = default)
    {
        using var s = OpenSnapshot();
        var at = ResolveRevision(s, revision);
        var end = KeyRange.PrefixEnd(prefix);
        var sql = new StringBuilder();
        if (at == s.Rev)
        {
            sql.Append("SELECT kv.key, l.create_rev, l.rev, l.lease, l.value FROM kv JOIN log l ON l.rev = kv.rev WHERE kv.key >= $s");
            if (end is not null) sql.Append(" AND kv.key < $e");
            sql.Append(" ORDER BY kv.key");
        }
        else
        {
            // Per key, the newest row at or below the revision (SQLite takes the bare columns from the MAX row).
            sql.Append("SELECT key, create_rev, rev, lease, value FROM (SELECT key, kind, create_rev, lease, value, MAX(rev) AS rev FROM log WHERE key >= $s");
            if (end is not null) sql.Append(" AND key < $e");
            sql.Append(" AND rev <= $at GROUP BY key) WHERE kind <> 2 ORDER BY key");
        }
        if (limit > 0) sql.Append(" LIMIT $n");
        using var cmd = s.Command(sql.ToString());
        cmd.Parameters.AddWithValue("$s", KeyRange.Start(prefix, startKey));
        if (end is not null) cmd.Parameters.AddWithValue("$e", end);
        cmd.Parameters.AddWithValue("$at", at);
        if (limit > 0) cmd.Parameters.AddWithValue("$n", limit + 1);
        var items = new List<KeyValue>();
        var more = false;
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                if (limit > 0 && items.Count == limit)
                {
                    more = true;
                    break;
                }
                var key = r.GetString(0);
                // Held volatile updates are always newer than the key's rows on disk.
                if (!s.Pending.IsEmpty && s.Pending.TryGetValue(key, out var p) && p.At(at) is { } held) items.Add(held);
                else items.Add(new KeyValue(key, (byte[])r.GetValue(4), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3)));
            }
        }
        return Task.FromResult(new ListResult(at, items, more));
    }

    /// <inheritdoc />
    public Task<(long Revision, long Count)> CountAsync(string prefix, CancellationToken ct = default)
    {
        using var s = OpenSnapshot();
        var end = KeyRange.PrefixEnd(prefix);
        using var cmd = s.Command(end is null ? "SELECT COUNT(*) FROM kv WHERE key >= $s;" : "SELECT COUNT(*) FROM kv WHERE key >= $s AND key < $e;");
        cmd.Parameters.AddWithValue("$s", prefix);
        if (end is not null) cmd.Parameters.AddWithValue("$e", end);
        var n = (long)cmd.ExecuteScalar()!;
        return Task.FromResult((s.Rev, n));
    }
}
