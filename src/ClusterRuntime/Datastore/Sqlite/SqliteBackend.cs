// The default datastore: a revision log in SQLite (WAL), one group-committing writer, and in-process watch fan-out.
using System.Collections.Immutable;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Appliance.ClusterRuntime.Datastore.Sqlite;

/// <summary>
/// <see cref="IBackend"/> on one SQLite file. All writes go through one writer loop that commits whatever is
/// queued as one transaction (group commit: one fsync acknowledges many writes). Reads run on pooled
/// connections inside a read transaction whose snapshot is taken atomically with the published revision.
/// Schema, durability and volatile keys are described in Datastore/README.md.
/// </summary>
public sealed partial class SqliteBackend : IBackend
{
    private const int MaxBatch = 512;
    private const long HighWaterBlock = 1000;
    private const int MaxPendingEvents = 4096;

    private readonly SqliteBackendOptions _options;
    private readonly Channel<WriteOp> _queue = Channel.CreateUnbounded<WriteOp>(new UnboundedChannelOptions { SingleReader = true });
    private readonly WatchBroadcaster _broadcaster = new();
    private readonly object _snapshotLock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly string _readConnectionString;
    private readonly string _writeConnectionString;

    private FileStream? _lockFile;
    private SqliteConnection? _writer;
    private Task? _writerLoop;
    private Task? _timers;
    private int _disposed;

    // Published state: changed only under _snapshotLock, by the writer after a commit.
    private long _rev;
    private long _compactRev;
    private ImmutableDictionary<string, PendingKey> _pending = ImmutableDictionary.Create<string, PendingKey>(StringComparer.Ordinal);

    // Writer-only state.
    private long _highWater;

    /// <summary>Creates the backend; <see cref="StartAsync"/> opens it.</summary>
    public SqliteBackend(SqliteBackendOptions options)
    {
        _options = options;
        Health = new Integrity.DatastoreHealth(options.DataDir); // dbhealth: disk-full readiness, probed in the data dir
        var path = options.DatabasePath;
        _writeConnectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString();
        _readConnectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, Pooling = true }.ToString();
    }

    /// <summary>Number of write transactions committed since start (one per group commit); for the benchmark.</summary>
    public long CommitCount => Interlocked.Read(ref _commits);
    private long _commits;

    /// <inheritdoc />
    public long CompactRevision => Volatile.Read(ref _compactRev);

    /// <inheritdoc />
    public Integrity.DatastoreHealth Health { get; } // dbhealth

    /// <summary>Number of volatile keys currently held in memory only.</summary>
    public int PendingKeyCount => _pending.Count;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken ct = default)
    {
        // The store holds Secrets: owner-only directory and database (SQLite gives -wal and -shm the database's mode).
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(_options.DataDir);
        else Directory.CreateDirectory(_options.DataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            // One process per data directory: the kernel drops this lock when the process dies, even by SIGKILL.
            _lockFile = new FileStream(_options.DatabasePath + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"{_options.DatabasePath} is in use by another process ({e.Message})", e);
        }

        _writer = new SqliteConnection(_writeConnectionString);
        _writer.Open();
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_options.DatabasePath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Exec(_writer, "PRAGMA journal_mode=WAL;");
        Exec(_writer, _options.SynchronousFull ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;");
        Exec(_writer, "PRAGMA busy_timeout=10000;");
        var version = Convert.ToInt64(Scalar(_writer, "PRAGMA user_version;"), System.Globalization.CultureInfo.InvariantCulture);
        if (version > SqliteSchema.Version)
            throw new InvalidDataException($"{_options.DatabasePath}: schema version {version} is newer than this build understands ({SqliteSchema.Version})");
        Exec(_writer, SqliteSchema.Ddl + $"PRAGMA user_version={SqliteSchema.Version};");

        var maxLog = Convert.ToInt64(Scalar(_writer, "SELECT COALESCE(MAX(rev), 0) FROM log;"), System.Globalization.CultureInfo.InvariantCulture);
        _compactRev = ReadMeta(_writer, SqliteSchema.MetaCompact);
        _highWater = ReadMeta(_writer, SqliteSchema.MetaHighWater);
        // Revisions up to the high-water mark may have been handed out to volatile writes lost in a crash:
        // never hand them out again.
        _rev = Math.Max(Math.Max(maxLog, _highWater), _compactRev);
        _highWater = _rev;
        PrepareWriterCommands();

        _writerLoop = Task.Run(WriterLoopAsync, CancellationToken.None);
        _timers = Task.Run(TimerLoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<long> CurrentRevisionAsync(CancellationToken ct = default) => Task.FromResult(Volatile.Read(ref _rev));

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

    /// <summary>Deletes keys whose lease has expired now (the expiry loop does this every <see cref="SqliteBackendOptions.ExpiryInterval"/>).</summary>
    public async Task ExpireLeasesAsync(CancellationToken ct = default) =>
        await SubmitAsync(new WriteOp(WriteKind.Expire), ct).ConfigureAwait(false);

    private Task<WriteResult> SubmitAsync(WriteOp op, CancellationToken ct)
    {
        if (_writer is null) throw new InvalidOperationException("the datastore is not started");
        if (!_queue.Writer.TryWrite(op)) throw new ObjectDisposedException(nameof(SqliteBackend));
        // A cancelled caller stops waiting; the write itself may still commit (as with any database client).
        return op.Done.Task.WaitAsync(ct);
    }

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

    /// <summary>Flushes held volatile updates, records the exact revision, stops the writer and closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stop.Cancel();
        if (_timers is not null) await _timers.ConfigureAwait(false);
        if (_writerLoop is not null)
        {
            var shutdown = new WriteOp(WriteKind.Shutdown);
            _queue.Writer.TryWrite(shutdown);
            _queue.Writer.TryComplete();
            await _writerLoop.ConfigureAwait(false);
        }
        _broadcaster.Close();
        if (_writer is not null)
        {
            _writer.Dispose();
            using var pooled = new SqliteConnection(_readConnectionString);
            SqliteConnection.ClearPool(pooled);
        }
        _lockFile?.Dispose();
        _stop.Dispose();
    }

    private static void Exec(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    private static long ReadMeta(SqliteConnection c, string name)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT value FROM meta WHERE name = $n;";
        cmd.Parameters.AddWithValue("$n", name);
        return cmd.ExecuteScalar() is long v ? v : 0;
    }
}
