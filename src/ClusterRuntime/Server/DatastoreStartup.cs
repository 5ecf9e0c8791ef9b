// What the server does with its SQLite datastore around start: check it (or reset it), mark the data dir, schedule snapshots.
using Appliance.ClusterRuntime.Datastore.Integrity;
using Appliance.ClusterRuntime.Datastore.Snapshots;

namespace Appliance.ClusterRuntime.Server;

/// <summary>The start-time integrity check and <c>--reset-datastore</c> (SQLite only; PostgreSQL is checked by its server).</summary>
public static class DatastoreStartup
{
    /// <summary>Records that this data directory holds a cluster (once; the content is when that was first so).</summary>
    public static void MarkInitialized(string dataDir, DateTimeOffset now)
    {
        var marker = SqliteIntegrityCheck.MarkerPath(dataDir);
        if (!File.Exists(marker))
            Appliance.Common.AtomicFile.WriteText(marker, now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture) + "\n", new(Mode: Appliance.Common.AtomicFileOptions.OwnerOnly));
    }

    /// <summary>
    /// Checks <c>DIR/db/state.db</c>. A problem ends the start with <see cref="DatastoreDamagedException"/> (one line
    /// naming the file, the problem and the way out) unless <see cref="ServerOptions.ResetDatastore"/> is set; then the
    /// database is moved aside as <c>state.db.reset-STAMP</c> and the returned notice says so. With a healthy
    /// database the flag changes nothing.
    /// </summary>
    /// <returns>A notice for the log, or null.</returns>
    public static string? Check(ServerOptions options, DateTimeOffset now)
    {
        var snapshots = new SnapshotStore(options.DataDir);
        var db = snapshots.DatabasePath;
        var report = SqliteIntegrityCheck.Check(options.DataDir, db);
        if (report.Ok)
            return options.ResetDatastore ? $"--reset-datastore ignored: {db} passed its integrity check" : null;
        if (!options.ResetDatastore)
        {
            var newest = snapshots.List().LastOrDefault();
            var way = newest is null
                ? $"there is no snapshot in {snapshots.SnapshotDirectory} to restore, so start with --reset-datastore to move it aside and begin an empty cluster"
                : $"restore the newest snapshot ({newest.Name}, revision {newest.Revision}, {newest.Keys} keys) with 'appliance-runtime datastore restore --data-dir {options.DataDir}', or start with --reset-datastore to move it aside and begin an empty cluster";
            throw new DatastoreDamagedException($"{db} {report.Problem}; {way}");
        }
        using (DatastoreLock.Acquire(db))
        {
            var aside = DatastoreLock.MoveAside(db, "reset-" + now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture));
            return $"--reset-datastore: {db} {report.Problem}; " + (aside is null ? "starting an empty datastore" : $"moved it to {aside}, starting an empty datastore");
        }
    }
}
