// Reads: a transaction whose snapshot is fixed together with the published revision and the held volatile updates.
using System.Collections.Immutable;
using System.Data.Common;
using System.Globalization;

namespace Appliance.ClusterRuntime.Datastore.Sql;

public partial class SqlBackend
{
    /// <summary>A read transaction plus the in-memory state that was published at the same instant.</summary>
    private sealed class Snapshot(DbConnection conn, DbTransaction tx, long rev, long compact, ImmutableDictionary<string, PendingKey> pending) : IAsyncDisposable
    {
        private bool _disposed;

        public long Rev { get; } = rev;
        public long Compact { get; } = compact;
        public ImmutableDictionary<string, PendingKey> Pending { get; } = pending;

        public DbCommand Command(string sql, params (string, object?)[] args) => SqlBackend.Command(conn, tx, sql, args);

        public async ValueTask DisposeAsync()
        {
            if (_disposed) return;
            _disposed = true;
            await tx.DisposeAsync().ConfigureAwait(false);
            await conn.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Opens a read transaction and fixes its snapshot while the writer cannot commit and publish, so the snapshot holds
    /// exactly the revisions up to <see cref="Snapshot.Rev"/>. <paramref name="subscribe"/> runs at the same instant.
    /// </summary>
    private async Task<Snapshot> OpenSnapshotAsync(Action? subscribe, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (!_started) throw new InvalidOperationException("the datastore is not started");
        var (conn, tx) = await _dialect.OpenReadAsync(ct).ConfigureAwait(false);
        try
        {
            await _gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                var (rev, compact) = await _dialect.PinAsync(tx, ct).ConfigureAwait(false);
                subscribe?.Invoke();
                // On a shared database other servers' commits may be in the snapshot before the poller published them:
                // the stored counter covers them.
                return new Snapshot(conn, tx, Math.Max(_rev, rev ?? 0), Math.Max(_compactRev, compact ?? 0), _pending);
            }
            finally
            {
                _gate.Release();
            }
        }
        catch
        {
            await tx.DisposeAsync().ConfigureAwait(false);
            await conn.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static long ResolveRevision(Snapshot s, long revision)
    {
        if (revision == 0) return s.Rev;
        if (revision > s.Rev) throw new FutureRevisionException(revision, s.Rev);
        if (revision <= s.Compact) throw new CompactedException(revision, s.Compact);
        return revision;
    }

    /// <inheritdoc />
    public async Task<(long Revision, KeyValue? Kv)> GetAsync(string key, long revision = 0, CancellationToken ct = default)
    {
        await using var s = await OpenSnapshotAsync(null, ct).ConfigureAwait(false);
        var at = ResolveRevision(s, revision);
        if (s.Pending.TryGetValue(key, out var p) && p.At(at) is { } held) return (at, held);
        await using var cmd = at == s.Rev
            ? s.Command("SELECT l.create_rev, l.rev, l.lease, l.value, l.kind FROM kv JOIN log l ON l.rev = kv.rev WHERE kv.key = @k;", ("@k", key))
            : s.Command("SELECT create_rev, rev, lease, value, kind FROM log WHERE key = @k AND rev <= @at ORDER BY rev DESC LIMIT 1;", ("@k", key), ("@at", at));
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await r.ReadAsync(ct).ConfigureAwait(false) || Kind(r, 4) == LogKind.Delete) return (at, null);
        return (at, new KeyValue(key, (byte[])r.GetValue(3), r.GetInt64(0), r.GetInt64(1), r.GetInt64(2)));
    }

    /// <inheritdoc />
    public async Task<ListResult> ListAsync(string prefix, string startKey = "", long limit = 0, long revision = 0, CancellationToken ct = default)
    {
        await using var s = await OpenSnapshotAsync(null, ct).ConfigureAwait(false);
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
        string InRange(string column) => $"{column} {op} @s" + (end is null ? "" : $" AND {column} < @e");
        var args = new List<(string, object?)> { ("@s", start) };
        if (end is not null) args.Add(("@e", end));
        string sql;
        var more = false;
        if (at == s.Rev)
        {
            // kv holds each live key's newest revision, in key order: one pass, one value read per item.
            sql = $"SELECT kv.key, l.create_rev, l.rev, l.lease, l.value FROM kv JOIN log l ON l.rev = kv.rev WHERE {InRange("kv.key")} ORDER BY kv.key";
            if (limit > 0)
            {
                sql += " LIMIT @n";
                args.Add(("@n", limit + 1));
            }
        }
        else
        {
            // An older revision: the newest live revision per key comes from the (key, rev) index alone, and only the
            // page's values are read. Reading whole log rows per key made each chunk of a paged list read the value
            // of every key after it (8 watchers' initial lists of 40 × 2.9 MB ConfigMaps took minutes).
            args.Add(("@at", at));
            var live = _dialect.NewestLiveRevisionPerKey(InRange("key") + " AND rev <= @at") + " ORDER BY key";
            if (limit > 0)
            {
                await using (var count = s.Command($"SELECT COUNT(*) FROM ({live} LIMIT @more) c", [.. args, ("@more", limit + 1)]))
                    more = Convert.ToInt64(await count.ExecuteScalarAsync(ct).ConfigureAwait(false), CultureInfo.InvariantCulture) > limit;
                live += " LIMIT @n";
                args.Add(("@n", limit));
            }
            // No ORDER BY on the join: SQL would sort (copy) the values; the page is sorted below instead.
            sql = $"SELECT l.key, l.create_rev, l.rev, l.lease, l.value FROM ({live}) m JOIN log l ON l.rev = m.rev";
        }
        await using var cmd = s.Command(sql, [.. args]);
        var items = new List<KeyValue>();
        await using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                if (at == s.Rev && limit > 0 && items.Count == limit)
                {
                    more = true;
                    break;
                }
                var key = r.GetString(0);
                // Held volatile updates are always newer than the key's rows on disk (creates are never held).
                if (!s.Pending.IsEmpty && s.Pending.TryGetValue(key, out var p) && p.At(at) is { } held) items.Add(held);
                else items.Add(new KeyValue(key, (byte[])r.GetValue(4), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3)));
            }
        }
        // Keys are stored in byte order (SQLite's BINARY collation, PostgreSQL's "C"); ordinal order agrees for the
        // characters Kubernetes allows in names.
        if (at != s.Rev) items.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return new ListResult(at, items, more);
    }

    /// <inheritdoc />
    public async Task<(long Revision, long Count)> CountAsync(string prefix, CancellationToken ct = default)
    {
        await using var s = await OpenSnapshotAsync(null, ct).ConfigureAwait(false);
        var end = KeyRange.PrefixEnd(prefix);
        await using var cmd = end is null
            ? s.Command("SELECT COUNT(*) FROM kv WHERE key >= @s;", ("@s", prefix))
            : s.Command("SELECT COUNT(*) FROM kv WHERE key >= @s AND key < @e;", ("@s", prefix), ("@e", end));
        var n = Convert.ToInt64(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false), CultureInfo.InvariantCulture);
        return (s.Rev, n);
    }

    private static int Kind(DbDataReader r, int column) => Convert.ToInt32(r.GetValue(column), CultureInfo.InvariantCulture);
}
