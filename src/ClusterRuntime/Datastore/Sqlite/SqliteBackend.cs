// The default datastore: the shared SQL core on one SQLite file (WAL).
using Appliance.ClusterRuntime.Datastore.Sql;

namespace Appliance.ClusterRuntime.Datastore.Sqlite;

/// <summary>
/// <see cref="IBackend"/> on one SQLite file <c>DataDir/state.db</c>: <see cref="SqlBackend"/> with the SQLite dialect.
/// One process per file (a lock file), so volatile updates are always held. A full disk is probed next to the file.
/// </summary>
public sealed class SqliteBackend(SqliteBackendOptions options) : SqlBackend(new SqliteDialect(options), options, options.DataDir);
