// What the Job controller has written about pods but not yet seen in the pod informer.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Job;

/// <summary>
/// As upstream's controller expectations: a pod created or deleted by a sync shows up in the cache a little later,
/// and a sync in between must neither create it again nor count it twice. Creations are known by pod name (the
/// controller names its pods), deletions and finalizer removals by uid; the informer's change handler clears them.
/// An expectation older than <see cref="Timeout"/> is dropped, as upstream's are after 5 minutes.
/// </summary>
sealed class PodExpectations(TimeProvider clock)
{
    static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    readonly object _gate = new();
    readonly Dictionary<string, (string Job, DateTimeOffset At)> _creates = new(StringComparer.Ordinal);
    readonly Dictionary<string, (string Job, DateTimeOffset At)> _deletes = new(StringComparer.Ordinal);
    readonly HashSet<string> _releases = new(StringComparer.Ordinal);

    /// <summary>Before creating pod <paramref name="podKey"/> for <paramref name="job"/>.</summary>
    public void ExpectCreate(string job, string podKey) { lock (_gate) _creates[podKey] = (job, clock.GetUtcNow()); }

    /// <summary>The creation of <paramref name="podKey"/> failed.</summary>
    public void CreateFailed(string podKey) { lock (_gate) _creates.Remove(podKey); }

    /// <summary>Before deleting the pod with <paramref name="uid"/> of <paramref name="job"/>.</summary>
    public void ExpectDelete(string job, string uid) { lock (_gate) _deletes[uid] = (job, clock.GetUtcNow()); }

    /// <summary>The deletion of <paramref name="uid"/> failed.</summary>
    public void DeleteFailed(string uid) { lock (_gate) _deletes.Remove(uid); }

    /// <summary>Before removing the tracking finalizer of the pod with <paramref name="uid"/>.</summary>
    public void ExpectRelease(string uid) { lock (_gate) _releases.Add(uid); }

    /// <summary>The finalizer removal of <paramref name="uid"/> failed.</summary>
    public void ReleaseFailed(string uid) { lock (_gate) _releases.Remove(uid); }

    /// <summary>True while the tracking finalizer of <paramref name="uid"/> is removed but the cache still shows it.</summary>
    public bool Releasing(string uid) { lock (_gate) return _releases.Contains(uid); }

    /// <summary>True while creations or deletions of <paramref name="job"/>'s pods are not yet in the cache.</summary>
    public bool Pending(string job)
    {
        var stale = clock.GetUtcNow() - Timeout;
        lock (_gate)
        {
            foreach (var map in new[] { _creates, _deletes })
                foreach (var (key, e) in map.Where(kv => kv.Value.At < stale).ToList()) map.Remove(key);
            return _creates.Values.Any(e => e.Job == job) || _deletes.Values.Any(e => e.Job == job);
        }
    }

    /// <summary>Clears what a pod change shows done (called by the pod informer's handler).</summary>
    public void Observe(JsonObject? old, JsonObject? cur)
    {
        var pod = cur ?? old!;
        var uid = Obj.Uid(pod);
        lock (_gate)
        {
            if (cur is not null && old is null) _creates.Remove(Informer.KeyOf(cur));
            if (cur is null || Obj.IsDeleting(cur)) _deletes.Remove(uid);
            if (cur is null || !Meta.Finalizers(cur).Contains(JobController.TrackingFinalizer)) _releases.Remove(uid);
        }
    }

    /// <summary>Forgets a deleted Job.</summary>
    public void Forget(string job)
    {
        lock (_gate)
        {
            foreach (var map in new[] { _creates, _deletes })
                foreach (var key in map.Where(kv => kv.Value.Job == job).Select(kv => kv.Key).ToList()) map.Remove(key);
        }
    }
}
