// The SQLite schema: one row per revision in `log` (the value is stored once), and a `kv` pointer per live key.
namespace Appliance.ClusterRuntime.Datastore.Sqlite;

/// <summary>DDL and the row kinds of the revision log.</summary>
internal static class SqliteSchema
{
    /// <summary><c>log.kind</c> of a create.</summary>
    public const int KindCreate = 0;
    /// <summary><c>log.kind</c> of an update.</summary>
    public const int KindUpdate = 1;
    /// <summary><c>log.kind</c> of a delete (its <c>value</c> is NULL).</summary>
    public const int KindDelete = 2;

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

    /// <summary><c>meta.name</c> of the compact revision.</summary>
    public const string MetaCompact = "compact_rev";
    /// <summary><c>meta.name</c> of the revision high-water mark (revisions up to it may have been handed out).</summary>
    public const string MetaHighWater = "rev_high_water";
}
