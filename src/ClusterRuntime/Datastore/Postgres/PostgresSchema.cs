// The PostgreSQL schema: the same revision log and live-key pointers as the SQLite backend, with byte-order keys.
namespace Appliance.ClusterRuntime.Datastore.Postgres;

/// <summary>DDL for <see cref="PostgresBackend"/>. Keys use the "C" collation so they sort like ordinal strings.</summary>
internal static class PostgresSchema
{
    /// <summary>Advisory lock id that serializes schema creation between servers.</summary>
    public const long SchemaLockId = 0x4170706c44730001;

    /// <summary>
    /// Advisory lock (two int keys) every server holds shared for as long as it runs; the one server that may hold
    /// volatile updates also holds it exclusively, so a starting server waits until the holder has written them.
    /// </summary>
    public const int PresenceLockClass = 0x41704473, PresenceLockId = 1;

    /// <summary>NOTIFY channel on which every committed write batch announces its newest revision.</summary>
    public const string Channel = "appliance_datastore";

    /// <summary>
    /// <c>meta.rev</c> is the global revision; every write transaction locks that row first, so revisions
    /// are assigned and committed in order even with several servers on one database.
    /// </summary>
    public const string Ddl = """
        CREATE TABLE IF NOT EXISTS meta(
          name  TEXT PRIMARY KEY,
          value BIGINT NOT NULL
        );
        INSERT INTO meta(name, value) VALUES ('rev', 0), ('compact_rev', 0), ('rev_high_water', 0) ON CONFLICT (name) DO NOTHING;
        CREATE TABLE IF NOT EXISTS log(
          rev        BIGINT   PRIMARY KEY,
          key        TEXT     COLLATE "C" NOT NULL,
          kind       SMALLINT NOT NULL,
          create_rev BIGINT   NOT NULL,
          prev_rev   BIGINT   NOT NULL,
          lease      BIGINT   NOT NULL,
          value      BYTEA
        );
        CREATE INDEX IF NOT EXISTS log_key_rev ON log(key, rev);
        CREATE TABLE IF NOT EXISTS kv(
          key        TEXT   COLLATE "C" PRIMARY KEY,
          rev        BIGINT NOT NULL,
          expires_at BIGINT
        );
        CREATE INDEX IF NOT EXISTS kv_expiry ON kv(expires_at) WHERE expires_at IS NOT NULL;
        """;
}
