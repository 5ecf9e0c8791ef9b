// The one-process-per-data-directory lock on state.db.lock, for tools that must not run beside a server.
namespace Appliance.ClusterRuntime.Datastore.Integrity;

/// <summary>
/// Takes the same exclusive lock the SQLite backend holds while it runs (<c>state.db.lock</c>, an flock that the kernel
/// drops when its holder dies), so restore and reset never replace a database under a running server.
/// </summary>
public static class DatastoreLock
{
    /// <summary>Holds the lock until disposed.</summary>
    /// <exception cref="DatastoreInUseException">A server (or another tool) holds it.</exception>
    public static FileStream Acquire(string databasePath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(databasePath)!);
        try
        {
            return new FileStream(databasePath + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new DatastoreInUseException($"{databasePath} is in use by a running server ({databasePath}.lock is locked: {e.Message.TrimEnd('.')}); stop the server first");
        }
    }

    /// <summary>Moves the database and its WAL aside as <c>state.db.SUFFIX</c> (and <c>-wal</c>); drops the shared-memory index.</summary>
    /// <returns>The new path of the database, or null when there was none.</returns>
    public static string? MoveAside(string databasePath, string suffix)
    {
        var aside = databasePath + "." + suffix;
        string? moved = null;
        if (File.Exists(databasePath))
        {
            File.Move(databasePath, aside);
            moved = aside;
        }
        if (File.Exists(databasePath + "-wal")) File.Move(databasePath + "-wal", aside + "-wal");
        File.Delete(databasePath + "-shm");
        return moved;
    }
}
