// The PostgreSQL datastore: the shared SQL core on a database that several servers may share.
using Appliance.ClusterRuntime.Datastore.Sql;

namespace Appliance.ClusterRuntime.Datastore.Postgres;

/// <summary>
/// <see cref="IBackend"/> on PostgreSQL, for sites that outgrow one server: <see cref="SqlBackend"/> with the PostgreSQL
/// dialect. Write batches of all servers serialize on <c>meta.rev</c>; a poller follows the log (woken by NOTIFY).
/// Volatile updates are held while this server is the only one using the database.
/// </summary>
public sealed class PostgresBackend(PostgresBackendOptions options) : SqlBackend(new PostgresDialect(options), options, probeDirectory: null);
