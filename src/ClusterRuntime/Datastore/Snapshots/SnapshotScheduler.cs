// Takes a snapshot at server start (after the integrity check) and then every interval, keeping the newest N.
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Datastore.Snapshots;

/// <summary>
/// The server's automatic snapshots. <paramref name="beforeSnapshot"/> runs first (the SQLite backend writes its held
/// heartbeats, so the snapshot has them). A failed snapshot (for example for lack of space) is logged and retried at
/// the next interval; it never stops the server.
/// </summary>
public sealed class SnapshotScheduler(SnapshotStore store, TimeSpan interval, int retention, Func<CancellationToken, Task>? beforeSnapshot, ILogger logger, TimeProvider time)
{
    /// <summary>Snapshots now and then every interval until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await TakeAsync(ct).ConfigureAwait(false);
                await Task.Delay(interval, time, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    async Task TakeAsync(CancellationToken ct)
    {
        try
        {
            if (beforeSnapshot is not null) await beforeSnapshot(ct).ConfigureAwait(false);
            var s = await Task.Run(() => store.Take(time.GetUtcNow(), retention), ct).ConfigureAwait(false);
            logger.LogInformation("datastore snapshot {Path}: revision {Revision}, {Keys} keys, {Size} bytes", s.Path, s.Revision, s.Keys, s.Size);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("datastore snapshot into {Dir} failed: {Message}", store.SnapshotDirectory, e.Message);
        }
    }
}
