// The one SQL datastore core: revisions, group commit, volatile keys, reads and watch over a thin database dialect.
using System.Collections.Immutable;
using System.Data.Common;
using System.Threading.Channels;

namespace Appliance.ClusterRuntime.Datastore.Sql;

/// <summary>
/// <see cref="IBackend"/> on a SQL database, written once for every dialect (SQLite, PostgreSQL). One writer loop
/// commits whatever is queued as one transaction (group commit); volatile updates (lease renewals, heartbeat-only node
/// updates) are held in memory and written coalesced; reads run in a transaction whose snapshot is fixed together with
/// the published revision. Datastore/README.md describes the schema and the guarantees.
/// </summary>
public partial class SqlBackend : IBackend
{
    private const long HighWaterBlock = 1000;
    private const int MaxPendingEvents = 4096;

    private readonly ISqlDialect _dialect;
    private readonly SqlBackendOptions _options;
    private readonly Channel<WriteOp> _queue = Channel.CreateUnbounded<WriteOp>(new UnboundedChannelOptions { SingleReader = true });
    private readonly WatchBroadcaster _broadcaster = new();
    // Commit + publish and the pinning of a read snapshot exclude each other, so a snapshot holds exactly the published revisions.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _writerLoop;
    private Task? _timers;
    private Task? _pollLoop;
    private bool _started;
    private int _disposed;
    private long _commits;

    // Published state: changed only while holding _gate.
    private long _rev;
    private long _compactRev;
    private ImmutableDictionary<string, PendingKey> _pending = ImmutableDictionary.Create<string, PendingKey>(StringComparer.Ordinal);
    // True while this server may hold volatile updates (always with one process per store; on a shared database only
    // while no other server uses it). The writer publishes its own batches while holding; otherwise the log poller does.
    private volatile bool _holding;

    // Writer-only state.
    private long _highWater;

    private protected SqlBackend(ISqlDialect dialect, SqlBackendOptions options, string? probeDirectory)
    {
        _dialect = dialect;
        _options = options;
        Health = new Integrity.DatastoreHealth(probeDirectory);
    }

    /// <inheritdoc />
    public Integrity.DatastoreHealth Health { get; }

    /// <summary>Number of committed transactions that stored something (one per group commit; held-only and idle batches write nothing); for the benchmark.</summary>
    public long CommitCount => Interlocked.Read(ref _commits);

    /// <inheritdoc />
    public long CompactRevision => Volatile.Read(ref _compactRev);

    /// <summary>Number of volatile keys currently held in memory only.</summary>
    public int PendingKeyCount => _pending.Count;

    /// <summary>True while volatile updates are held in memory (false in naive mode, and on a database another server uses).</summary>
    public bool HoldsVolatileKeys => _holding;

    private bool WriterPublishes => !_dialect.SharedDatabase || _holding;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken ct = default)
    {
        var stored = await _dialect.OpenAsync(ct).ConfigureAwait(false);
        _compactRev = stored.Compact;
        // Revisions up to the high-water mark may have been handed out to volatile writes lost in a crash:
        // never hand them out again.
        _rev = Math.Max(Math.Max(stored.Rev, stored.HighWater), stored.Compact);
        _highWater = _rev;
        _holding = _options.VolatileKeys is not null && await _dialect.TryHoldAsync().ConfigureAwait(false);
        _started = true;
        _writerLoop = Task.Run(WriterLoopAsync, CancellationToken.None);
        _timers = Task.Run(TimerLoopAsync, CancellationToken.None);
        if (_dialect.SharedDatabase) _pollLoop = Task.Run(PollLoopAsync, CancellationToken.None);
    }

    /// <inheritdoc />
    public async Task<long> CurrentRevisionAsync(CancellationToken ct = default)
    {
        var stored = _dialect.SharedDatabase ? await _dialect.StoredRevisionAsync(ct).ConfigureAwait(false) : null;
        return Math.Max(Volatile.Read(ref _rev), stored ?? 0);
    }

    /// <inheritdoc />
    public async Task<long> CreateAsync(string key, byte[] value, long lease = 0, CancellationToken ct = default)
    {
        var r = await SubmitAsync(new WriteOp(WriteKind.Create) { Key = key, Value = value, Lease = lease }, ct).ConfigureAwait(false);
        if (!r.Succeeded) throw new KeyExistsException(key);
        return r.Revision;
    }

    /// <inheritdoc />
    public async Task<(long Revision, KeyValue? Kv, bool Updated)> UpdateAsync(string key, byte[] value, long expectedRevision, long lease = 0, CancellationToken ct = default)
    {
        var r = await SubmitAsync(new WriteOp(WriteKind.Update) { Key = key, Value = value, Expected = expectedRevision, Lease = lease }, ct).ConfigureAwait(false);
        return (r.Revision, r.Kv, r.Succeeded);
    }

    /// <inheritdoc />
    public async Task<(long Revision, KeyValue? Kv, bool Deleted)> DeleteAsync(string key, long expectedRevision = 0, CancellationToken ct = default)
    {
        var r = await SubmitAsync(new WriteOp(WriteKind.Delete) { Key = key, Expected = expectedRevision }, ct).ConfigureAwait(false);
        return (r.Revision, r.Kv, r.Succeeded);
    }

    /// <inheritdoc />
    public async Task CompactAsync(long revision, CancellationToken ct = default) =>
        await SubmitAsync(new WriteOp(WriteKind.Compact) { Revision = revision }, ct).ConfigureAwait(false);

    /// <summary>Writes every held volatile update to disk now.</summary>
    public async Task FlushAsync(CancellationToken ct = default) =>
        await SubmitAsync(new WriteOp(WriteKind.Flush), ct).ConfigureAwait(false);

    private Task<WriteResult> SubmitAsync(WriteOp op, CancellationToken ct)
    {
        if (!_started) throw new InvalidOperationException("the datastore is not started");
        if (!_queue.Writer.TryWrite(op)) throw new ObjectDisposedException(GetType().Name);
        // A cancelled caller stops waiting; the write itself may still commit (as with any database client).
        return op.Done.Task.WaitAsync(ct);
    }

    /// <summary>Queues a lease-expiry pass every <see cref="SqlBackendOptions.ExpiryInterval"/> and a flush every <see cref="SqlBackendOptions.FlushInterval"/>.</summary>
    private async Task TimerLoopAsync()
    {
        var time = _options.Time;
        var nextFlush = time.GetUtcNow() + _options.FlushInterval;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await Task.Delay(_options.ExpiryInterval, time, _stop.Token).ConfigureAwait(false);
                if (_queue.Reader.Completion.IsCompleted) return;
                _queue.Writer.TryWrite(new WriteOp(WriteKind.Expire));
                if (time.GetUtcNow() >= nextFlush)
                {
                    nextFlush = time.GetUtcNow() + _options.FlushInterval;
                    if (!_pending.IsEmpty) _queue.Writer.TryWrite(new WriteOp(WriteKind.Flush));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Flushes held volatile updates, records the exact revision, stops the loops and closes the database.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stop.Cancel();
        if (_timers is not null) await _timers.ConfigureAwait(false);
        if (_writerLoop is not null)
        {
            _queue.Writer.TryWrite(new WriteOp(WriteKind.Shutdown));
            _queue.Writer.TryComplete();
            await _writerLoop.ConfigureAwait(false);
        }
        if (_pollLoop is not null) await _pollLoop.ConfigureAwait(false);
        _broadcaster.Close();
        await _dialect.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    private static DbCommand Command(DbConnection conn, DbTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }
}
