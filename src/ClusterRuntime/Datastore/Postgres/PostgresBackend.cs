// The PostgreSQL datastore: the same revision log as SQLite; writers serialize on the revision row, watchers follow NOTIFY.
using System.Threading.Channels;
using Npgsql;

namespace Appliance.ClusterRuntime.Datastore.Postgres;

/// <summary>
/// <see cref="IBackend"/> on PostgreSQL, for sites that outgrow one server. Writes are group-committed by one writer
/// loop per process; each batch first locks <c>meta.rev</c>, so revisions from all servers are assigned and committed
/// in order. A poller follows the log (woken by NOTIFY) and feeds the in-process watch broadcaster.
/// </summary>
public sealed partial class PostgresBackend : IBackend
{
    private const int MaxBatch = 256;

    private readonly PostgresBackendOptions _options;
    private readonly Channel<WriteOp> _queue = Channel.CreateUnbounded<WriteOp>(new UnboundedChannelOptions { SingleReader = true });
    private readonly WatchBroadcaster _broadcaster = new();
    private readonly object _publishLock = new();
    private readonly CancellationTokenSource _stop = new();
    private NpgsqlDataSource? _source;
    private Task? _writerLoop;
    private Task? _pollLoop;
    private Task? _expiryLoop;
    private long _published;
    private long _compactRev;
    private int _disposed;

    /// <summary>Creates the backend; <see cref="StartAsync"/> connects.</summary>
    public PostgresBackend(PostgresBackendOptions options) => _options = options;

    /// <inheritdoc />
    public long CompactRevision => Volatile.Read(ref _compactRev);

    /// <inheritdoc />
    public Integrity.DatastoreHealth Health { get; } = new(null); // dbhealth: no local probe; cleared by the next commit

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken ct = default)
    {
        _source = NpgsqlDataSource.Create(_options.ConnectionString);
        await using (var conn = await _source.OpenConnectionAsync(ct).ConfigureAwait(false))
        await using (var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false))
        {
            await using (var lockCmd = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({PostgresSchema.SchemaLockId});", conn, tx))
                await lockCmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await using (var ddl = new NpgsqlCommand(PostgresSchema.Ddl, conn, tx))
                await ddl.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            _published = await MetaAsync(conn, tx, "rev", ct).ConfigureAwait(false);
            _compactRev = await MetaAsync(conn, tx, "compact_rev", ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
        }
        _writerLoop = Task.Run(WriterLoopAsync, CancellationToken.None);
        _pollLoop = Task.Run(PollLoopAsync, CancellationToken.None);
        _expiryLoop = Task.Run(ExpiryLoopAsync, CancellationToken.None);
    }

    /// <inheritdoc />
    public async Task<long> CurrentRevisionAsync(CancellationToken ct = default)
    {
        await using var conn = await Source.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await MetaAsync(conn, null, "rev", ct).ConfigureAwait(false);
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

    /// <summary>Deletes keys whose lease has expired now.</summary>
    public async Task ExpireLeasesAsync(CancellationToken ct = default) =>
        await SubmitAsync(new WriteOp(WriteKind.Expire), ct).ConfigureAwait(false);

    private NpgsqlDataSource Source => _source ?? throw new InvalidOperationException("the datastore is not started");

    private Task<WriteResult> SubmitAsync(WriteOp op, CancellationToken ct)
    {
        _ = Source;
        if (!_queue.Writer.TryWrite(op)) throw new ObjectDisposedException(nameof(PostgresBackend));
        return op.Done.Task.WaitAsync(ct);
    }

    private async Task ExpiryLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await Task.Delay(_options.ExpiryInterval, _options.Time, _stop.Token).ConfigureAwait(false);
                _queue.Writer.TryWrite(new WriteOp(WriteKind.Expire));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Stops the loops, ends every watch and closes the connections.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stop.Cancel();
        _queue.Writer.TryComplete();
        foreach (var t in new[] { _expiryLoop, _writerLoop, _pollLoop })
        {
            if (t is null) continue;
            try { await t.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
        _broadcaster.Close();
        if (_source is not null) await _source.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private static async Task<long> MetaAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string name, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT value FROM meta WHERE name = $1;", conn, tx);
        cmd.Parameters.Add(new NpgsqlParameter { Value = name });
        return (long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }
}
