// Local snapshots of the SQLite datastore: consistent copies by SQLite's online backup API, kept by count, restored atomically.
using System.Globalization;
using Appliance.ClusterRuntime.Datastore.Integrity;
using Appliance.Common;
using Microsoft.Data.Sqlite;

namespace Appliance.ClusterRuntime.Datastore.Snapshots;

/// <summary>One snapshot file.</summary>
/// <param name="Name">File name, <c>state-YYYYMMDDTHHMMSS.fffZ.db</c> (UTC time it was taken).</param>
/// <param name="Path">Full path.</param>
/// <param name="Size">Bytes.</param>
/// <param name="Revision">Newest revision in it.</param>
/// <param name="Keys">Live keys (objects) in it.</param>
/// <param name="Taken">When it was taken (from the name).</param>
public sealed record SnapshotInfo(string Name, string Path, long Size, long Revision, long Keys, DateTimeOffset Taken);

/// <summary>
/// The snapshots of the server data directory <c>DIR</c>: <c>DIR/db/snapshots/state-*.db</c>. Each is a complete,
/// self-contained SQLite database copied with the online backup API (one read transaction, so it is consistent even
/// while the server writes), checked with <c>quick_check</c>, fsynced and renamed into place.
/// </summary>
public sealed class SnapshotStore(string dataDir)
{
    const string Prefix = "state-";
    const string Suffix = ".db";
    const string StampFormat = "yyyyMMdd'T'HHmmss.fff'Z'";

    /// <summary>How far past the snapshot the revision moves when the replaced database's newest revision cannot be read.</summary>
    public const long UnknownRevisionBump = 1_000_000;

    /// <summary>The live database, <c>DIR/db/state.db</c>.</summary>
    public string DatabasePath { get; } = System.IO.Path.Combine(dataDir, "db", "state.db");

    /// <summary>Where snapshots are kept, <c>DIR/db/snapshots</c>.</summary>
    public string SnapshotDirectory { get; } = System.IO.Path.Combine(dataDir, "db", "snapshots");

    /// <summary>Free space a snapshot must leave beside it at the least (besides room for the database to double).</summary>
    public const long MinimumFreeAfter = 16L * 1024 * 1024;

    /// <summary>
    /// Copies the live database into a new snapshot, then deletes the oldest beyond <paramref name="retention"/>.
    /// A snapshot that would leave less free space than the database's own size (and at least
    /// <see cref="MinimumFreeAfter"/>) is not taken: it must never be what fills the datastore's disk.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no database to copy.</exception>
    /// <exception cref="IOException">Too little free space, or the copy failed.</exception>
    public SnapshotInfo Take(DateTimeOffset now, int retention)
    {
        if (!File.Exists(DatabasePath)) throw new FileNotFoundException($"{DatabasePath} does not exist: nothing to snapshot", DatabasePath);
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(SnapshotDirectory);
        else Directory.CreateDirectory(SnapshotDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var size = new FileInfo(DatabasePath).Length + (File.Exists(DatabasePath + "-wal") ? new FileInfo(DatabasePath + "-wal").Length : 0);
        var free = new DriveInfo(SnapshotDirectory).AvailableFreeSpace;
        if (free - size < Math.Max(size, MinimumFreeAfter))
            throw new IOException($"{SnapshotDirectory}: only {free} bytes free; a snapshot of {size} bytes must leave at least {Math.Max(size, MinimumFreeAfter)} for the datastore, so none was taken");
        var stamp = now.UtcDateTime;
        string final;
        while (File.Exists(final = System.IO.Path.Combine(SnapshotDirectory, Prefix + stamp.ToString(StampFormat, CultureInfo.InvariantCulture) + Suffix)))
            stamp = stamp.AddMilliseconds(1);
        // The snapshot holds Secrets: owner-only from its creation on. SQLite writes the shared writer's temp file, which
        // is then fsynced, renamed and its directory fsynced (no other snapshot takes the name: no overwrite).
        using (var file = new AtomicFile(final, new(Mode: AtomicFileOptions.OwnerOnly, Overwrite: false, BufferSize: 0)))
        {
            try
            {
                using (var source = Open(DatabasePath, SqliteOpenMode.ReadWrite))
                using (var copy = Open(file.TempPath, SqliteOpenMode.ReadWrite))
                {
                    source.BackupDatabase(copy);
                    // A single self-contained file: no WAL beside it.
                    Exec(copy, "PRAGMA journal_mode=DELETE;");
                    var check = QuickCheck(copy);
                    if (check != "ok") throw new InvalidDataException($"{DatabasePath}: the snapshot copy fails quick_check ({check}); the live database may be damaged");
                }
                file.Commit();
            }
            finally
            {
                File.Delete(file.TempPath + "-journal");
            }
        }
        Prune(retention);
        return Describe(final);
    }

    /// <summary>The snapshots, oldest first.</summary>
    public IReadOnlyList<SnapshotInfo> List() =>
        Directory.Exists(SnapshotDirectory)
            ? Directory.GetFiles(SnapshotDirectory, Prefix + "*" + Suffix).Where(f => TakenAt(System.IO.Path.GetFileName(f)) is not null)
                .Order(StringComparer.Ordinal).Select(Describe).ToList()
            : [];

    /// <summary>
    /// Deletes the oldest snapshots so that at most <paramref name="retention"/> remain, and temp files an interrupted
    /// snapshot left (untouched for an hour).
    /// </summary>
    public void Prune(int retention)
    {
        if (!Directory.Exists(SnapshotDirectory)) return;
        // Temp files of snapshots a crash interrupted (the shared writer's names, and SQLite's journal beside one).
        foreach (var stale in Directory.GetFiles(SnapshotDirectory, "." + Prefix + "*"))
            if (File.GetLastWriteTimeUtc(stale) < DateTime.UtcNow.AddHours(-1)) File.Delete(stale);
        var all = Directory.GetFiles(SnapshotDirectory, Prefix + "*" + Suffix).Where(f => TakenAt(System.IO.Path.GetFileName(f)) is not null)
            .Order(StringComparer.Ordinal).ToList();
        foreach (var old in all.Take(Math.Max(0, all.Count - retention))) File.Delete(old);
    }

    /// <summary>
    /// Replaces the live database with a snapshot (<paramref name="name"/>: a file name in the snapshot directory or a
    /// path; null = the newest). Refuses while a server holds the data directory. The snapshot is checked, copied to a
    /// temp file and fsynced; the old database (and WAL) is kept as <c>state.db.pre-restore-STAMP</c>; then the copy is
    /// renamed to <c>state.db</c>, so the database is either the old one, absent, or the whole snapshot.
    /// Clients may hold resourceVersions of the timeline being replaced, which the restored one would hand out again for
    /// other changes. So, as etcd's <c>snapshot restore --bump-revision --mark-compacted</c>, the copy's revision counter
    /// is moved past every revision the replaced database (or any snapshot) reached — or by
    /// <see cref="UnknownRevisionBump"/> when that cannot be read — and everything below it is marked compacted: a watch
    /// or read at an old resourceVersion gets 410 Gone and the client relists.
    /// </summary>
    /// <returns>The snapshot restored and where the previous database was kept (null when there was none).</returns>
    /// <exception cref="DatastoreInUseException">A server runs on this data directory.</exception>
    /// <exception cref="FileNotFoundException">No snapshot, or no snapshot by that name.</exception>
    public (SnapshotInfo Snapshot, string? Previous) Restore(string? name, DateTimeOffset now)
    {
        var path = name is null
            ? (List() is { Count: > 0 } all ? all[^1].Path : throw new FileNotFoundException($"no snapshot in {SnapshotDirectory} to restore"))
            : name.Contains('/', StringComparison.Ordinal) ? System.IO.Path.GetFullPath(name) : System.IO.Path.Combine(SnapshotDirectory, name);
        if (!File.Exists(path)) throw new FileNotFoundException($"snapshot {path} does not exist (see 'appliance-runtime datastore ls')", path);
        using var held = DatastoreLock.Acquire(DatabasePath);
        var snapshot = Describe(path);
        using (var c = Open(path, SqliteOpenMode.ReadOnly))
        {
            var check = QuickCheck(c);
            if (check != "ok") throw new InvalidDataException($"snapshot {path} is damaged (quick_check: {check}); choose another one");
        }
        var reached = Math.Max(List().Select(s => s.Revision).DefaultIfEmpty(0).Max(), snapshot.Revision);
        var bumped = (NewestRevision(DatabasePath) is { } old ? Math.Max(old, reached) : reached + UnknownRevisionBump) + 1;
        using var file = new AtomicFile(DatabasePath, new(Mode: AtomicFileOptions.OwnerOnly, BufferSize: 0));
        using (var from = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
            from.CopyTo(file.Stream);
        file.Stream.Flush();
        try
        {
            using var c = Open(file.TempPath, SqliteOpenMode.ReadWrite);
            using var cmd = c.CreateCommand();
            cmd.CommandText = "INSERT INTO meta(name, value) VALUES ($c, $r), ($h, $r) ON CONFLICT(name) DO UPDATE SET value = excluded.value;";
            cmd.Parameters.AddWithValue("$c", Sql.MetaName.Compact);
            cmd.Parameters.AddWithValue("$h", Sql.MetaName.HighWater);
            cmd.Parameters.AddWithValue("$r", bumped);
            cmd.ExecuteNonQuery();
        }
        finally
        {
            File.Delete(file.TempPath + "-journal");
        }
        var previous = DatastoreLock.MoveAside(DatabasePath, "pre-restore-" + now.UtcDateTime.ToString(StampFormat, CultureInfo.InvariantCulture));
        file.Commit();
        return (snapshot, previous);
    }

    /// <summary>The newest revision a database handed out (log, high-water mark, compaction), or null when it cannot be read.</summary>
    static long? NewestRevision(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var c = Open(path, SqliteOpenMode.ReadOnly);
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT MAX((SELECT COALESCE(MAX(rev), 0) FROM log), (SELECT COALESCE(MAX(value), 0) FROM meta WHERE name IN ($c, $h)));";
            cmd.Parameters.AddWithValue("$c", Sql.MetaName.Compact);
            cmd.Parameters.AddWithValue("$h", Sql.MetaName.HighWater);
            return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        catch (SqliteException)
        {
            return null;
        }
    }

    SnapshotInfo Describe(string path)
    {
        long rev = 0, keys = 0;
        using (var c = Open(path, SqliteOpenMode.ReadOnly))
        {
            rev = Convert.ToInt64(Scalar(c, "SELECT COALESCE(MAX(rev), 0) FROM log;"), CultureInfo.InvariantCulture);
            keys = Convert.ToInt64(Scalar(c, "SELECT COUNT(*) FROM kv;"), CultureInfo.InvariantCulture);
        }
        var name = System.IO.Path.GetFileName(path);
        return new SnapshotInfo(name, path, new FileInfo(path).Length, rev, keys, TakenAt(name) ?? DateTimeOffset.UnixEpoch);
    }

    static DateTimeOffset? TakenAt(string name) =>
        name.StartsWith(Prefix, StringComparison.Ordinal) && name.EndsWith(Suffix, StringComparison.Ordinal)
        && DateTime.TryParseExact(name[Prefix.Length..^Suffix.Length], StampFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)
            ? new DateTimeOffset(t, TimeSpan.Zero) : null;

    static SqliteConnection Open(string path, SqliteOpenMode mode)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = mode, Pooling = false }.ToString());
        c.Open();
        Exec(c, "PRAGMA busy_timeout=10000;");
        return c;
    }

    static string QuickCheck(SqliteConnection c)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA quick_check(3);";
        var lines = new List<string>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) lines.Add(r.GetString(0));
        return string.Join("; ", lines).ReplaceLineEndings(" ");
    }

    static void Exec(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    static object? Scalar(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }
}
