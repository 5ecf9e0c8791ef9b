// Watch: a poller follows the log (woken by NOTIFY) and publishes in order; watchers catch up from one snapshot, then follow.
using System.Runtime.CompilerServices;
using System.Text;
using Npgsql;

namespace Appliance.ClusterRuntime.Datastore.Postgres;

public sealed partial class PostgresBackend
{
    private const int Page = 1000;

    /// <inheritdoc />
    public async IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long afterRevision, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var last = afterRevision;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            WatchBroadcaster.Subscription sub;
            long published;
            lock (_publishLock)
            {
                sub = _broadcaster.Subscribe(prefix, _options.WatchBuffer);
                published = _published;
            }
            try
            {
                if (last < published)
                {
                    await using var s = await OpenSnapshotAsync(ct).ConfigureAwait(false);
                    if (last < s.Compact) throw new CompactedException(last, s.Compact);
                    while (last < published)
                    {
                        var page = await ReadLogAsync(s.Conn, s.Tx, prefix, last, published, ct).ConfigureAwait(false);
                        if (page.Count == 0) break;
                        foreach (var ev in page)
                        {
                            yield return ev;
                            last = ev.Kv.ModRevision;
                        }
                    }
                }
                else if (last < CompactRevision)
                {
                    throw new CompactedException(last, CompactRevision);
                }
                last = Math.Max(last, published);
                await foreach (var ev in sub.Channel.Reader.ReadAllAsync(ct).ConfigureAwait(false))
                {
                    if (ev.Kv.ModRevision <= last) continue;
                    yield return ev;
                    last = ev.Kv.ModRevision;
                }
                if (!sub.Overflowed) yield break;
            }
            finally
            {
                _broadcaster.Unsubscribe(sub);
            }
        }
    }

    /// <summary>Follows the log and publishes every new row, in revision order, to the broadcaster.</summary>
    private async Task PollLoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await FollowLogAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or IOException)
            {
                // Lost the server: reconnect and carry on from the last published revision.
                try { await Task.Delay(TimeSpan.FromSeconds(1), token).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    private async Task FollowLogAsync(CancellationToken token)
    {
        {
            await using var listen = await Source.OpenConnectionAsync(token).ConfigureAwait(false);
            await using (var cmd = new NpgsqlCommand($"LISTEN {PostgresSchema.Channel};", listen))
                await cmd.ExecuteNonQueryAsync(token).ConfigureAwait(false);
            await using var conn = await Source.OpenConnectionAsync(token).ConfigureAwait(false);
            while (!token.IsCancellationRequested)
            {
                while (true)
                {
                    var page = await ReadLogAsync(conn, null, "", _published, long.MaxValue, token).ConfigureAwait(false);
                    if (page.Count == 0) break;
                    var compact = await MetaAsync(conn, null, "compact_rev", token).ConfigureAwait(false);
                    Volatile.Write(ref _compactRev, compact);
                    lock (_publishLock)
                    {
                        // Every revision is one row, so a hole means compaction overtook the poller: make the
                        // watchers catch up from the log again (they get CompactedException if they cannot).
                        if (page[0].Kv.ModRevision != _published + 1) _broadcaster.Reset();
                        _broadcaster.Publish(page);
                        _published = page[^1].Kv.ModRevision;
                    }
                }
                await listen.WaitAsync(_options.PollInterval, token).ConfigureAwait(false);
            }
        }
    }

    private static async Task<List<WatchEvent>> ReadLogAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string prefix, long after, long upTo, CancellationToken ct)
    {
        var end = KeyRange.PrefixEnd(prefix);
        var sql = new StringBuilder("""
            SELECT l.rev, l.key, l.kind, l.create_rev, l.lease, l.value, p.rev, p.create_rev, p.lease, p.value
            FROM log l LEFT JOIN log p ON p.rev = l.prev_rev
            WHERE l.rev > $1 AND l.rev <= $2 AND l.key >= $3
            """);
        if (end is not null) sql.Append(" AND l.key < $5");
        sql.Append(" ORDER BY l.rev LIMIT $4;");
        await using var cmd = new NpgsqlCommand(sql.ToString(), conn, tx);
        cmd.Parameters.Add(new NpgsqlParameter { Value = after });
        cmd.Parameters.Add(new NpgsqlParameter { Value = upTo });
        cmd.Parameters.Add(new NpgsqlParameter { Value = prefix });
        cmd.Parameters.Add(new NpgsqlParameter { Value = Page });
        if (end is not null) cmd.Parameters.Add(new NpgsqlParameter { Value = end });
        var events = new List<WatchEvent>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            var key = r.GetString(1);
            var rev = r.GetInt64(0);
            KeyValue? prev = r.IsDBNull(6) ? null
                : new KeyValue(key, r.IsDBNull(9) ? [] : (byte[])r.GetValue(9), r.GetInt64(7), r.GetInt64(6), r.GetInt64(8));
            events.Add(r.GetInt16(2) switch
            {
                KindCreate => new WatchEvent(WatchEventType.Create, new KeyValue(key, (byte[])r.GetValue(5), r.GetInt64(3), rev, r.GetInt64(4)), null),
                KindUpdate => new WatchEvent(WatchEventType.Update, new KeyValue(key, (byte[])r.GetValue(5), r.GetInt64(3), rev, r.GetInt64(4)), prev),
                _ => new WatchEvent(WatchEventType.Delete, (prev ?? new KeyValue(key, [], r.GetInt64(3), rev, r.GetInt64(4))) with { ModRevision = rev }, prev),
            });
        }
        return events;
    }
}
