// The SQLite dialect: one file in WAL mode, one process (a lock file), prepared statements on one writer connection.
using System.Data.Common;
using System.Globalization;
using Appliance.ClusterRuntime.Datastore.Sql;
using Microsoft.Data.Sqlite;

namespace Appliance.ClusterRuntime.Datastore.Sqlite;

/// <summary>
/// <see cref="ISqlDialect"/> for SQLite. A local file has no round trips to save, so a batch loads and stores key by key
/// with prepared statements. Readers use pooled connections in deferred transactions.
/// </summary>
internal sealed class SqliteDialect(SqliteBackendOptions options) : ISqlDialect
{
    private readonly string _writeConnectionString = new SqliteConnectionStringBuilder { DataSource = options.DatabasePath, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString();
    private readonly string _readConnectionString = new SqliteConnectionStringBuilder { DataSource = options.DatabasePath, Mode = SqliteOpenMode.ReadWrite, Pooling = true }.ToString();
    private FileStream? _lockFile;
    private SqliteConnection? _writer;
    private SqliteCommand _cmdCurrent = null!;
    private SqliteCommand _cmdExpired = null!;
    private SqliteCommand _cmdInsertLog = null!;
    private SqliteCommand _cmdUpsertKv = null!;
    private SqliteCommand _cmdDeleteKv = null!;
    private SqliteCommand _cmdSetMeta = null!;

    public bool SharedDatabase => false;

    public int MaxBatch => 512;

    public Task<StoredState> OpenAsync(CancellationToken ct)
    {
        // The store holds Secrets: owner-only directory and database (SQLite gives -wal and -shm the database's mode).
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(options.DataDir);
        else Directory.CreateDirectory(options.DataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            // One process per data directory: the kernel drops this lock when the process dies, even by SIGKILL.
            _lockFile = new FileStream(options.DatabasePath + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new Integrity.DatastoreInUseException($"{options.DatabasePath} is in use by another process ({e.Message})");
        }
        _writer = new SqliteConnection(_writeConnectionString);
        _writer.Open();
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(options.DatabasePath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Exec("PRAGMA journal_mode=WAL;");
        Exec(options.SynchronousFull ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;");
        Exec("PRAGMA busy_timeout=10000;");
        var version = Convert.ToInt64(Scalar("PRAGMA user_version;"), CultureInfo.InvariantCulture);
        if (version > SqliteSchema.Version)
            throw new InvalidDataException($"{options.DatabasePath}: schema version {version} is newer than this build understands ({SqliteSchema.Version})");
        Exec(SqliteSchema.Ddl + $"PRAGMA user_version={SqliteSchema.Version};");
        var stored = new StoredState(
            Convert.ToInt64(Scalar("SELECT COALESCE(MAX(rev), 0) FROM log;"), CultureInfo.InvariantCulture),
            ReadMeta(MetaName.Compact), ReadMeta(MetaName.HighWater));
        Prepare();
        return Task.FromResult(stored);
    }

    private void Prepare()
    {
        _cmdCurrent = Prepared("SELECT l.create_rev, l.rev, l.lease, l.value, kv.expires_at FROM kv JOIN log l ON l.rev = kv.rev WHERE kv.key = $k;", ("$k", SqliteType.Text));
        _cmdExpired = Prepared("SELECT key FROM kv WHERE expires_at IS NOT NULL AND expires_at <= $now ORDER BY key;", ("$now", SqliteType.Integer));
        _cmdInsertLog = Prepared("INSERT INTO log(rev, key, kind, create_rev, prev_rev, lease, value) VALUES ($rev, $key, $kind, $cr, $pr, $lease, $value);",
            ("$rev", SqliteType.Integer), ("$key", SqliteType.Text), ("$kind", SqliteType.Integer), ("$cr", SqliteType.Integer),
            ("$pr", SqliteType.Integer), ("$lease", SqliteType.Integer), ("$value", SqliteType.Blob));
        _cmdUpsertKv = Prepared("INSERT INTO kv(key, rev, expires_at) VALUES ($k, $r, $e) ON CONFLICT(key) DO UPDATE SET rev = excluded.rev, expires_at = excluded.expires_at;",
            ("$k", SqliteType.Text), ("$r", SqliteType.Integer), ("$e", SqliteType.Integer));
        _cmdDeleteKv = Prepared("DELETE FROM kv WHERE key = $k;", ("$k", SqliteType.Text));
        _cmdSetMeta = Prepared("INSERT INTO meta(name, value) VALUES ($n, $v) ON CONFLICT(name) DO UPDATE SET value = excluded.value;",
            ("$n", SqliteType.Text), ("$v", SqliteType.Integer));
    }

    public Task<(DbTransaction Tx, bool Reconnected)> BeginWriteAsync()
    {
        var tx = Writer.BeginTransaction();
        foreach (var c in new[] { _cmdCurrent, _cmdExpired, _cmdInsertLog, _cmdUpsertKv, _cmdDeleteKv, _cmdSetMeta }) c.Transaction = tx;
        return Task.FromResult<(DbTransaction, bool)>((tx, false));
    }

    public Task<BatchStart> LoadAsync(DbTransaction tx, IReadOnlyCollection<string> keys, long? expireNow, bool lockCounter)
    {
        var expired = new List<string>();
        if (expireNow is { } now)
        {
            _cmdExpired.Parameters["$now"].Value = now;
            using var r = _cmdExpired.ExecuteReader();
            while (r.Read()) expired.Add(r.GetString(0));
        }
        var loaded = new Dictionary<string, StoredKey>(StringComparer.Ordinal);
        foreach (var key in keys.Concat(expired))
        {
            if (loaded.ContainsKey(key)) continue;
            _cmdCurrent.Parameters["$k"].Value = key;
            using var r = _cmdCurrent.ExecuteReader();
            loaded[key] = r.Read()
                ? new StoredKey(new KeyValue(key, (byte[])r.GetValue(3), r.GetInt64(0), r.GetInt64(1), r.GetInt64(2)), r.IsDBNull(4) ? null : r.GetInt64(4))
                : default;
        }
        return Task.FromResult(new BatchStart(null, null, loaded, expired));
    }

    public Task WriteAsync(DbTransaction tx, IReadOnlyList<LogRow> rows, IReadOnlyList<KvPointer> pointers, IReadOnlyList<(string Name, long Value)> meta, long rev)
    {
        var p = _cmdInsertLog.Parameters;
        foreach (var row in rows)
        {
            p["$rev"].Value = row.Rev;
            p["$key"].Value = row.Key;
            p["$kind"].Value = row.Kind;
            p["$cr"].Value = row.CreateRev;
            p["$pr"].Value = row.PrevRev;
            p["$lease"].Value = row.Lease;
            p["$value"].Value = row.Value is null ? DBNull.Value : row.Value;
            _cmdInsertLog.ExecuteNonQuery();
        }
        foreach (var kv in pointers)
        {
            if (kv.Rev == 0)
            {
                _cmdDeleteKv.Parameters["$k"].Value = kv.Key;
                _cmdDeleteKv.ExecuteNonQuery();
                continue;
            }
            _cmdUpsertKv.Parameters["$k"].Value = kv.Key;
            _cmdUpsertKv.Parameters["$r"].Value = kv.Rev;
            _cmdUpsertKv.Parameters["$e"].Value = kv.ExpiresAt is { } e ? e : DBNull.Value;
            _cmdUpsertKv.ExecuteNonQuery();
        }
        foreach (var (name, value) in meta)
        {
            _cmdSetMeta.Parameters["$n"].Value = name;
            _cmdSetMeta.Parameters["$v"].Value = value;
            _cmdSetMeta.ExecuteNonQuery();
        }
        return Task.CompletedTask;
    }

    // One process per file: this store is always the only one that could hold volatile updates.
    public Task<bool> TryHoldAsync() => Task.FromResult(true);

    public Task<bool> HoldWantedAsync() => Task.FromResult(false);

    public Task ReleaseHoldAsync() => Task.CompletedTask;

    public Task<(DbConnection Conn, DbTransaction Tx)> OpenReadAsync(CancellationToken ct)
    {
        var conn = new SqliteConnection(_readConnectionString);
        try
        {
            conn.Open();
            return Task.FromResult<(DbConnection, DbTransaction)>((conn, conn.BeginTransaction(deferred: true)));
        }
        catch
        {
            conn.Dispose();
            throw;
        }
    }

    public Task<(long? Rev, long? Compact)> PinAsync(DbTransaction tx, CancellationToken ct)
    {
        // The first read of a deferred transaction fixes its snapshot.
        using var pin = tx.Connection!.CreateCommand();
        pin.Transaction = tx;
        pin.CommandText = "SELECT COUNT(*) FROM meta;";
        pin.ExecuteScalar();
        return Task.FromResult<(long?, long?)>((null, null));
    }

    public Task<long?> StoredRevisionAsync(CancellationToken ct) => Task.FromResult<long?>(null);

    // SQLite takes a bare column (kind, in HAVING) from the row that holds the MAX; (key, rev) come from the index.
    public string NewestLiveRevisionPerKey(string where) =>
        $"SELECT key, MAX(rev) AS rev FROM log WHERE {where} GROUP BY key HAVING kind <> 2";

    public Task WaitForChangeAsync(CancellationToken ct) => throw new NotSupportedException("one process per SQLite file: there is nobody else to wait for");

    public ValueTask DisposeAsync()
    {
        if (_writer is not null)
        {
            _writer.Dispose();
            using var pooled = new SqliteConnection(_readConnectionString);
            SqliteConnection.ClearPool(pooled);
        }
        _lockFile?.Dispose();
        return ValueTask.CompletedTask;
    }

    private SqliteConnection Writer => _writer ?? throw new InvalidOperationException("the datastore is not started");

    private SqliteCommand Prepared(string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var cmd = Writer.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, type) in parameters) cmd.Parameters.Add(name, type);
        return cmd;
    }

    private void Exec(string sql)
    {
        using var cmd = Writer.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private object? Scalar(string sql)
    {
        using var cmd = Writer.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    private long ReadMeta(string name)
    {
        using var cmd = Writer.CreateCommand();
        cmd.CommandText = "SELECT value FROM meta WHERE name = $n;";
        cmd.Parameters.AddWithValue("$n", name);
        return cmd.ExecuteScalar() is long v ? v : 0;
    }
}
