// The typed error for "the datastore cannot write because its storage is full" (the API answers 507).
namespace Appliance.ClusterRuntime.Datastore;

/// <summary>
/// Thrown by a write when the datastore's storage has no space left (SQLite <c>SQLITE_FULL</c>, PostgreSQL
/// SQLSTATE 53100 <c>disk_full</c>). Nothing of the write was committed; it may be retried once space returns.
/// </summary>
public sealed class StorageFullException(string message, Exception inner) : Exception(message, inner);
