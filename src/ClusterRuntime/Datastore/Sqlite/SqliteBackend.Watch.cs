// Watch: catch up from the log (merged with held volatile updates), then switch to the live broadcast without a seam.
using System.Runtime.CompilerServices;
using System.Text;

namespace Appliance.ClusterRuntime.Datastore.Sqlite;

public sealed partial class SqliteBackend
{
    private const int CatchUpPage = 1000;

    /// <inheritdoc />
    /// <remarks>
    /// The subscription and the read snapshot are taken under the publish lock, so the log supplies every event up to
    /// the snapshot revision and the broadcast supplies every event after it. A watcher whose buffer overflows is
    /// re-subscribed and catches up from the log from its last delivered revision.
    /// </remarks>
    public async IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long afterRevision, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var last = afterRevision;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            WatchBroadcaster.Subscription? sub = null;
            var snap = OpenSnapshot(() => sub = _broadcaster.Subscribe(prefix, _options.WatchBuffer));
            try
            {
                if (last < snap.Compact) throw new CompactedException(last, snap.Compact);
                var snapRev = snap.Rev;
                while (last < snapRev)
                {
                    var page = CatchUpPageOf(snap, prefix, last, snapRev);
                    if (page.Count == 0) break;
                    foreach (var ev in page)
                    {
                        yield return ev;
                        last = ev.Kv.ModRevision;
                    }
                }
                snap.Dispose();
                last = Math.Max(last, snapRev);
                await foreach (var ev in sub!.Channel.Reader.ReadAllAsync(ct).ConfigureAwait(false))
                {
                    if (ev.Kv.ModRevision <= last) continue;
                    yield return ev;
                    last = ev.Kv.ModRevision;
                }
                if (!sub.Overflowed) yield break;
            }
            finally
            {
                if (sub is not null) _broadcaster.Unsubscribe(sub);
                snap.Dispose();
            }
        }
    }

    /// <summary>Up to <see cref="CatchUpPage"/> events in (<paramref name="after"/>, <paramref name="upTo"/>], from the log and the held updates.</summary>
    private List<WatchEvent> CatchUpPageOf(ReadSnapshot s, string prefix, long after, long upTo)
    {
        var end = KeyRange.PrefixEnd(prefix);
        var sql = new StringBuilder("""
            SELECT l.rev, l.key, l.kind, l.create_rev, l.lease, l.value, p.rev, p.create_rev, p.lease, p.value
            FROM log l LEFT JOIN log p ON p.rev = l.prev_rev
            WHERE l.rev > $after AND l.rev <= $upTo
            """);
        if (prefix.Length > 0) sql.Append(" AND l.key >= $s");
        if (end is not null) sql.Append(" AND l.key < $e");
        sql.Append(" ORDER BY l.rev LIMIT $n;");
        using var cmd = s.Command(sql.ToString());
        cmd.Parameters.AddWithValue("$after", after);
        cmd.Parameters.AddWithValue("$upTo", upTo);
        if (prefix.Length > 0) cmd.Parameters.AddWithValue("$s", prefix);
        if (end is not null) cmd.Parameters.AddWithValue("$e", end);
        cmd.Parameters.AddWithValue("$n", CatchUpPage);
        var events = new List<WatchEvent>();
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                var key = r.GetString(1);
                var rev = r.GetInt64(0);
                KeyValue? prev = r.IsDBNull(6) ? null
                    : new KeyValue(key, r.IsDBNull(9) ? [] : (byte[])r.GetValue(9), r.GetInt64(7), r.GetInt64(6), r.GetInt64(8));
                events.Add(r.GetInt32(2) switch
                {
                    SqliteSchema.KindCreate => new WatchEvent(WatchEventType.Create, new KeyValue(key, (byte[])r.GetValue(5), r.GetInt64(3), rev, r.GetInt64(4)), null),
                    SqliteSchema.KindUpdate => new WatchEvent(WatchEventType.Update, new KeyValue(key, (byte[])r.GetValue(5), r.GetInt64(3), rev, r.GetInt64(4)), prev),
                    _ => new WatchEvent(WatchEventType.Delete, (prev ?? new KeyValue(key, [], r.GetInt64(3), rev, r.GetInt64(4))) with { ModRevision = rev }, prev),
                });
            }
        }
        // A full page bounds the range the held updates may fill; otherwise they may fill up to upTo.
        var pageEnd = events.Count == CatchUpPage ? events[^1].Kv.ModRevision : upTo;
        if (!s.Pending.IsEmpty)
        {
            foreach (var (key, p) in s.Pending)
            {
                if (!KeyRange.Matches(key, prefix)) continue;
                foreach (var ev in p.History)
                    if (ev.Kv.ModRevision > after && ev.Kv.ModRevision <= pageEnd) events.Add(ev);
            }
            events.Sort((a, b) => a.Kv.ModRevision.CompareTo(b.Kv.ModRevision));
        }
        if (events.Count == 0 && pageEnd < upTo) throw new InvalidOperationException("catch-up made no progress");
        return events;
    }
}
