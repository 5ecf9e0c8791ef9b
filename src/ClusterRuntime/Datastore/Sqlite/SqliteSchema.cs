// The SQLite schema: one row per revision in `log` (the value is stored once), and a `kv` pointer per live key.
namespace Appliance.ClusterRuntime.Datastore.Sqlite;

/// <summary>DDL of the SQLite store (row kinds and meta names are in <c>Sql/SqlRows.cs</c>).</summary>
internal static class SqliteSchema
{
    /// <summary>Schema version stored in <c>PRAGMA user_version</c>.</summary>
    public const int Version = 1;

    /// <summary>
    /// <c>log</c> keeps every revision until compaction; <c>kv</c> points each live key at its newest revision
    /// (no value copy); <c>meta</c> holds the compact revision and the revision high-water mark.
    /// </summary>
    public const string Ddl = """
        CREATE TABLE IF NOT EXISTS log(
          rev        INTEGER PRIMARY KEY,
          key        TEXT    NOT NULL,
          kind       INTEGER NOT NULL,
          create_rev INTEGER NOT NULL,
          prev_rev   INTEGER NOT NULL,
          lease      INTEGER NOT NULL,
          value      BLOB
        );
        CREATE INDEX IF NOT EXISTS log_key_rev ON log(key, rev);
        CREATE TABLE IF NOT EXISTS kv(
          key        TEXT    PRIMARY KEY,
          rev        INTEGER NOT NULL,
          expires_at INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS kv_expiry ON kv(expires_at) WHERE expires_at IS NOT NULL;
        CREATE TABLE IF NOT EXISTS meta(
          name  TEXT PRIMARY KEY,
          value INTEGER NOT NULL
        ) WITHOUT ROWID;
        """;
}
