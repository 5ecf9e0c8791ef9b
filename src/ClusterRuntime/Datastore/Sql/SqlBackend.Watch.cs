// Watch: catch up from the log (merged with held volatile updates), then follow the live broadcast without a seam.
using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Text;

namespace Appliance.ClusterRuntime.Datastore.Sql;

public partial class SqlBackend
{
    private const int CatchUpPage = 1000;

    /// <summary>
    /// A catch-up page also ends once its values (and previous values) pass this many bytes, so a watcher catching up
    /// over large objects (forty 2.9 MB ConfigMaps are 230 MB with their previous values) holds a few MiB at a time.
    /// </summary>
    private const long CatchUpPageBytes = 8L * 1024 * 1024;

    /// <inheritdoc />
    /// <remarks>
    /// The subscription and the read snapshot are taken at one instant, so the log supplies every event up to the
    /// snapshot revision and the broadcast every event after it. A watcher whose buffer overflows is re-subscribed and
    /// catches up from the log from its last delivered revision.
    /// </remarks>
    public async IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long afterRevision, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var last = afterRevision;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            WatchBroadcaster.Subscription? sub = null;
            var snap = await OpenSnapshotAsync(() => sub = _broadcaster.Subscribe(prefix, _options.WatchBuffer), ct).ConfigureAwait(false);
            try
            {
                if (last < snap.Compact) throw new CompactedException(last, snap.Compact);
                var snapRev = snap.Rev;
                while (last < snapRev)
                {
                    var page = await CatchUpPageAsync(snap, prefix, last, snapRev, ct).ConfigureAwait(false);
                    if (page.Count == 0) break;
                    foreach (var ev in page)
                    {
                        yield return ev;
                        last = ev.Kv.ModRevision;
                    }
                }
                await snap.DisposeAsync().ConfigureAwait(false);
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
                await snap.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Up to <see cref="CatchUpPage"/> events in (<paramref name="after"/>, <paramref name="upTo"/>], from the log and the held updates.</summary>
    private static async Task<List<WatchEvent>> CatchUpPageAsync(Snapshot s, string prefix, long after, long upTo, CancellationToken ct)
    {
        var (events, full) = await ReadLogAsync(s, prefix, after, upTo, ct).ConfigureAwait(false);
        // A full page bounds the range the held updates may fill; otherwise they may fill up to upTo.
        var pageEnd = full ? events[^1].Kv.ModRevision : upTo;
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

    /// <summary>
    /// Log rows in (<paramref name="after"/>, <paramref name="upTo"/>] under <paramref name="prefix"/> as events, each with
    /// its previous value: at most <see cref="CatchUpPage"/> rows and, after the first, <see cref="CatchUpPageBytes"/>;
    /// <c>Full</c> when a limit ended the page (more rows may follow).
    /// </summary>
    private static async Task<(List<WatchEvent> Events, bool Full)> ReadLogAsync(Snapshot s, string prefix, long after, long upTo, CancellationToken ct)
    {
        var end = KeyRange.PrefixEnd(prefix);
        var sql = new StringBuilder("""
            SELECT l.rev, l.key, l.kind, l.create_rev, l.lease, l.value, p.rev, p.create_rev, p.lease, p.value
            FROM log l LEFT JOIN log p ON p.rev = l.prev_rev
            WHERE l.rev > @after AND l.rev <= @upTo
            """);
        var args = new List<(string, object?)> { ("@after", after), ("@upTo", upTo), ("@n", CatchUpPage) };
        if (prefix.Length > 0)
        {
            sql.Append(" AND l.key >= @s");
            args.Add(("@s", prefix));
        }
        if (end is not null)
        {
            sql.Append(" AND l.key < @e");
            args.Add(("@e", end));
        }
        sql.Append(" ORDER BY l.rev LIMIT @n;");
        await using var cmd = s.Command(sql.ToString(), [.. args]);
        var events = new List<WatchEvent>();
        long bytes = 0;
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            if (bytes >= CatchUpPageBytes) return (events, true);
            var key = r.GetString(1);
            var rev = r.GetInt64(0);
            KeyValue? prev = r.IsDBNull(6) ? null
                : new KeyValue(key, r.IsDBNull(9) ? [] : (byte[])r.GetValue(9), r.GetInt64(7), r.GetInt64(6), r.GetInt64(8));
            events.Add(Kind(r, 2) switch
            {
                LogKind.Create => new WatchEvent(WatchEventType.Create, new KeyValue(key, (byte[])r.GetValue(5), r.GetInt64(3), rev, r.GetInt64(4)), null),
                LogKind.Update => new WatchEvent(WatchEventType.Update, new KeyValue(key, (byte[])r.GetValue(5), r.GetInt64(3), rev, r.GetInt64(4)), prev),
                _ => new WatchEvent(WatchEventType.Delete, (prev ?? new KeyValue(key, [], r.GetInt64(3), rev, r.GetInt64(4))) with { ModRevision = rev }, prev),
            });
            bytes += events[^1].Kv.Value.Length + (prev?.Value.Length ?? 0);
        }
        return (events, events.Count == CatchUpPage);
    }

    /// <summary>
    /// Shared database: follows the log and publishes what other servers (and, while this one does not hold volatile
    /// updates, this one) committed, in revision order.
    /// </summary>
    private async Task PollLoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await PublishFromLogAsync(force: false, token).ConfigureAwait(false);
                await _dialect.WaitForChangeAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is DbException or InvalidOperationException or IOException or TimeoutException)
            {
                // Lost the server: reconnect and carry on from the last published revision.
                try { await Task.Delay(TimeSpan.FromSeconds(1), token).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>Publishes every committed log row above the published revision (unless this writer publishes, or <paramref name="force"/>).</summary>
    private async Task PublishFromLogAsync(bool force, CancellationToken ct)
    {
        while (true)
        {
            if (!force && _holding) return;
            var from = Volatile.Read(ref _rev);
            var (conn, tx) = await _dialect.OpenReadAsync(ct).ConfigureAwait(false);
            List<WatchEvent> page;
            bool full;
            long compact;
            await using (var s = new Snapshot(conn, tx, long.MaxValue, 0, _pending.Clear()))
            {
                compact = (await _dialect.PinAsync(tx, ct).ConfigureAwait(false)).Compact ?? 0;
                (page, full) = await ReadLogAsync(s, "", from, long.MaxValue, ct).ConfigureAwait(false);
            }
            await _gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                if (!force && _holding) return;
                // Compaction overtook the poller: the rows it skipped are gone, so every watcher catches up from the log
                // again (and gets CompactedException if it cannot).
                if (compact > _rev) _broadcaster.Reset();
                Volatile.Write(ref _compactRev, Math.Max(_compactRev, compact));
                var fresh = page.Where(e => e.Kv.ModRevision > _rev).ToList();
                _broadcaster.Publish(fresh);
                if (fresh.Count > 0) Volatile.Write(ref _rev, fresh[^1].Kv.ModRevision);
            }
            finally
            {
                _gate.Release();
            }
            if (!full) return;
        }
    }
}
