// The datastore verbs' logic: snapshot, restore and ls over SnapshotStore; one line and an exit code for every failure.
using System.Globalization;
using Appliance.ClusterRuntime.Datastore.Integrity;
using Appliance.ClusterRuntime.Datastore.Snapshots;
using Microsoft.Data.Sqlite;

namespace Appliance.ClusterRuntime.Server;

/// <summary>
/// <c>appliance-runtime datastore snapshot|restore|ls</c>. Exit codes: 0 done; 1 the operation failed (a server holds
/// the data directory, I/O error, damaged snapshot); 2 a usage error (PostgreSQL endpoint, retention below 1, no such
/// snapshot).
/// </summary>
public sealed class DatastoreCommand(string dataDir, string? endpoint, TimeProvider time, TextWriter output, TextWriter error)
{
    const string Prefix = "appliance-runtime datastore: ";
    readonly SnapshotStore _store = new(dataDir);

    /// <summary>Takes a snapshot now and prints its path.</summary>
    public int Snapshot(int retention)
    {
        if (Refused() is { } code) return code;
        if (retention < 1) return Fail(2, $"--snapshot-retention: {retention} must be at least 1");
        return Run(() =>
        {
            var s = _store.Take(time.GetUtcNow(), retention);
            output.WriteLine(s.Path);
        });
    }

    /// <summary>Restores the named (or newest) snapshot.</summary>
    public int Restore(string? name)
    {
        if (Refused() is { } code) return code;
        return Run(() =>
        {
            var (s, previous) = _store.Restore(name, time.GetUtcNow());
            output.WriteLine($"restored {s.Name} (revision {s.Revision}, {s.Keys} keys) into {_store.DatabasePath}"
                + (previous is null ? "" : $"; the previous database is kept as {previous}"));
        });
    }

    /// <summary>Prints the snapshots as a table, oldest first.</summary>
    public int List()
    {
        if (Refused() is { } code) return code;
        return Run(() =>
        {
            var rows = _store.List().Select(s => new[]
            {
                s.Name, s.Size.ToString(CultureInfo.InvariantCulture), s.Revision.ToString(CultureInfo.InvariantCulture),
                s.Keys.ToString(CultureInfo.InvariantCulture), s.Taken.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            }).Prepend(["NAME", "SIZE", "REVISION", "KEYS", "TAKEN"]).ToList();
            var widths = Enumerable.Range(0, 5).Select(i => rows.Max(r => r[i].Length)).ToArray();
            foreach (var r in rows)
                output.WriteLine(string.Join("   ", r.Select((c, i) => i == r.Length - 1 ? c : c.PadRight(widths[i]))));
        });
    }

    int? Refused() =>
        string.IsNullOrWhiteSpace(endpoint) || endpoint == "sqlite"
            ? null
            : Fail(2, "snapshots cover the SQLite datastore only; for PostgreSQL back up the database with pg_dump and restore it with pg_restore (see the PostgreSQL documentation)");

    int Run(Action action)
    {
        try
        {
            action();
            return 0;
        }
        catch (FileNotFoundException e)
        {
            return Fail(2, e.Message);
        }
        catch (Exception e) when (e is DatastoreInUseException or IOException or UnauthorizedAccessException or InvalidDataException or SqliteException)
        {
            return Fail(1, e.Message);
        }
    }

    int Fail(int code, string message)
    {
        error.WriteLine(Prefix + message.ReplaceLineEndings(" "));
        return code;
    }
}
