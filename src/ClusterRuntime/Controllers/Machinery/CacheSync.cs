// Waiting until an informer has seen a controller's own write, so the next sync does not act on a stale cache.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Controllers.Machinery;

/// <summary>
/// What upstream's controller "expectations" achieve: after creating or deleting pods a sync waits (up to
/// <see cref="Limit"/>) until its informer reflects the writes, so a following sync neither creates a pod twice nor
/// deletes one more than allowed. Past the limit it gives up quietly; the next change queues the key again.
/// </summary>
public static class CacheSync
{
    /// <summary>Longest wait for the informer.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);

    /// <summary>Waits until <paramref name="informer"/> has applied the revision <paramref name="written"/> was stored at.</summary>
    public static Task SeenAsync(Informer informer, JsonObject written, CancellationToken ct) =>
        Meta.Str(written, "resourceVersion") is { } rv && long.TryParse(rv, out var revision)
            ? UntilAsync(() => informer.Revision >= revision, ct)
            : Task.CompletedTask;

    /// <summary>Waits until the object <paramref name="uid"/> at <paramref name="key"/> is gone from <paramref name="informer"/> or marked deleting.</summary>
    public static Task GoneAsync(Informer informer, string key, string uid, CancellationToken ct) =>
        UntilAsync(() => informer.Get(key) is not { } o || Obj.Uid(o) != uid || Obj.IsDeleting(o), ct);

    /// <summary>Polls <paramref name="done"/> every 10 ms until it holds or <see cref="Limit"/> passes.</summary>
    public static async Task UntilAsync(Func<bool> done, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!done() && DateTime.UtcNow < deadline) await Task.Delay(10, ct);
    }
}
