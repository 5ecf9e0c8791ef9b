// The start-time refusal: the database named, what is wrong with it, and the way out.
namespace Appliance.ClusterRuntime.Datastore.Integrity;

/// <summary>The SQLite datastore failed its start-time check; the message is the one line the server prints.</summary>
public sealed class DatastoreDamagedException(string message) : Exception(message);

/// <summary>Another process (a running server, a restore) holds the data directory's datastore lock.</summary>
public sealed class DatastoreInUseException(string message) : Exception(message);
