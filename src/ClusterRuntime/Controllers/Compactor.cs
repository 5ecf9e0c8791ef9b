// Compacts datastore history periodically, as kube-apiserver does: each run drops what is older than the previous run.
using Appliance.ClusterRuntime.Datastore;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers;

/// <summary>
/// Every <c>interval</c> compacts to the revision that was current one interval earlier, so watches and paged lists
/// can resume from anything at most one interval old; older resourceVersions and continue tokens get 410 Gone.
/// A compaction is itself a durable write, so it is skipped while fewer than <see cref="MinRevisions"/> revisions
/// would be dropped: an idle cluster (only lease renewals) then compacts every few hours instead of every 5 minutes.
/// </summary>
public sealed class Compactor(IBackend backend, TimeSpan interval, ILogger logger)
{
    /// <summary>Least number of revisions a compaction must drop to be worth a write.</summary>
    public long MinRevisions { get; init; } = 1000;

    /// <summary>Runs until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        long previous = 0;
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                try
                {
                    if (previous - backend.CompactRevision >= MinRevisions) await backend.CompactAsync(previous, ct);
                    previous = await backend.CurrentRevisionAsync(ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "compaction failed; retrying at the next interval");
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
