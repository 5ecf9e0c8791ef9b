// The start-time check of the SQLite datastore: present, non-empty when a cluster was here, a SQLite file, quick_check ok.
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Appliance.ClusterRuntime.Datastore.Integrity;

/// <summary>What the start-time check found.</summary>
/// <param name="Problem">Null when the database may be opened; otherwise what is wrong, e.g. <c>is damaged (…)</c>.</param>
public sealed record IntegrityReport(string? Problem)
{
    /// <summary>The database may be opened.</summary>
    public bool Ok => Problem is null;
}

/// <summary>
/// Checks <c>DIR/db/state.db</c> before the server opens it. The <see cref="MarkerName"/> file in the data directory
/// records that a cluster was stored here, so a missing, 0-byte or empty database is then a loss to report, not a
/// first start. A present file must be a SQLite database that passes <c>PRAGMA quick_check</c> (every page and
/// record is read and its structure verified; O(size), I/O bound: see Datastore/README.md for measured times).
/// </summary>
public static class SqliteIntegrityCheck
{
    /// <summary>Written in the data directory once the server has stored its system namespaces (see <c>DatastoreStartup</c>).</summary>
    public const string MarkerName = "datastore-initialized";

    static readonly byte[] Magic = "SQLite format 3\0"u8.ToArray();

    /// <summary>Path of the marker for the server data directory <paramref name="dataDir"/>.</summary>
    public static string MarkerPath(string dataDir) => Path.Combine(dataDir, MarkerName);

    /// <summary>Checks the database file <paramref name="databasePath"/> of the server data directory <paramref name="dataDir"/>.</summary>
    public static IntegrityReport Check(string dataDir, string databasePath)
    {
        var initialized = File.Exists(MarkerPath(dataDir));
        var file = new FileInfo(databasePath);
        if (!file.Exists)
            return new(initialized ? "is missing, but this data directory has held a cluster" : null);
        if (file.Length == 0)
        {
            // SQLite may keep everything in the WAL until a checkpoint; a 0-byte file with a WAL is not empty.
            var wal = new FileInfo(databasePath + "-wal");
            if (!wal.Exists || wal.Length == 0)
                return new(initialized ? "is empty (0 bytes), but this data directory has held a cluster" : null);
        }
        else
        {
            var header = new byte[Magic.Length];
            int read;
            using (var f = new FileStream(databasePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite)) read = f.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            if (read < Magic.Length || !header.AsSpan().SequenceEqual(Magic))
                return new("is not a SQLite database (its header is not \"SQLite format 3\")");
        }
        try
        {
            // Read-only: a damaged file is not modified (no WAL checkpoint at close), so it stays as it was found.
            using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            c.Open();
            var problems = new List<string>();
            using (var cmd = c.CreateCommand())
            {
                cmd.CommandText = "PRAGMA quick_check(3);";
                using var r = cmd.ExecuteReader();
                while (r.Read()) problems.Add(r.GetString(0));
            }
            if (problems is not ["ok"]) return new($"is damaged (quick_check: {string.Join("; ", problems).ReplaceLineEndings(" ")})");
            if (initialized && CountKeys(c) == 0) return new("holds no objects, but this data directory has held a cluster");
            return new((string?)null);
        }
        catch (SqliteException e)
        {
            return new($"is damaged ({e.Message.TrimEnd('.')})");
        }
    }

    /// <summary>Live keys in the <c>kv</c> table (0 when the schema was never created).</summary>
    static long CountKeys(SqliteConnection c)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'kv';";
        if (Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) == 0) return 0;
        cmd.CommandText = "SELECT COUNT(*) FROM kv;";
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}
