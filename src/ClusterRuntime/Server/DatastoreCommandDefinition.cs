// The `appliance-runtime datastore snapshot|restore|ls` verbs: options and wiring.
using System.CommandLine;

namespace Appliance.ClusterRuntime.Server;

/// <summary>Defines the datastore verbs.</summary>
public static class DatastoreCommandDefinition
{
    /// <summary>--data-dir (the server's).</summary>
    public static readonly Option<string> DataDir = new("--data-dir", "-d")
    {
        Description = "The server's data directory (the datastore is DIR/db/state.db, snapshots DIR/db/snapshots)",
        DefaultValueFactory = _ => "/var/lib/appliance-runtime/server",
    };

    /// <summary>--datastore-endpoint: accepted only to refuse PostgreSQL with the right pointer.</summary>
    public static readonly Option<string?> DatastoreEndpoint = new("--datastore-endpoint")
    {
        Description = "The server's --datastore-endpoint; snapshots cover SQLite only (use pg_dump for PostgreSQL)",
    };

    /// <summary>--snapshot-retention.</summary>
    public static readonly Option<int> Retention = new("--snapshot-retention")
    {
        Description = "Snapshots to keep; the oldest beyond this are deleted",
        DefaultValueFactory = _ => 5,
    };

    /// <summary>--snapshot: which one to restore.</summary>
    public static readonly Option<string?> Snapshot = new("--snapshot")
    {
        Description = "Snapshot file name (from 'datastore ls') or path to restore (default: the newest)",
    };

    /// <summary>Builds the command group.</summary>
    public static Command Create()
    {
        var snapshot = new Command("snapshot", "Take a snapshot of the SQLite datastore now (works while the server runs); prints its path") { DataDir, DatastoreEndpoint, Retention };
        snapshot.SetAction(parse => Command(parse).Snapshot(parse.GetValue(Retention)));
        var restore = new Command("restore", "Replace the SQLite datastore with a snapshot (the server must be stopped)") { DataDir, DatastoreEndpoint, Snapshot };
        restore.SetAction(parse => Command(parse).Restore(parse.GetValue(Snapshot)));
        var ls = new Command("ls", "List the snapshots of the SQLite datastore, oldest first") { DataDir, DatastoreEndpoint };
        ls.SetAction(parse => Command(parse).List());
        return new Command("datastore", "Snapshots of the SQLite datastore: snapshot, restore, ls") { snapshot, restore, ls };
    }

    static DatastoreCommand Command(ParseResult parse) =>
        new(Path.GetFullPath(parse.GetValue(DataDir)!), parse.GetValue(DatastoreEndpoint), TimeProvider.System, Console.Out, Console.Error);
}
