// The Job controller: runs a Job's pods to completion and tracks them with a finalizer (kube-controller-manager's job-controller).
using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.Job;

/// <summary>
/// Keeps <c>parallelism</c> pods running until <c>completions</c> succeed, fails the Job past <c>backoffLimit</c> or
/// <c>activeDeadlineSeconds</c>, honours <c>suspend</c>, deletes it <c>ttlSecondsAfterFinished</c> after it ends,
/// and counts every pod exactly once across restarts through <c>status.uncountedTerminatedPods</c> and the
/// <see cref="TrackingFinalizer"/> on its pods (README.md).
/// </summary>
public sealed partial class JobController : IController
{
    /// <summary>Finalizer that keeps a Job's pod until the Job has counted it.</summary>
    public const string TrackingFinalizer = "batch.kubernetes.io/job-tracking";

    /// <summary>Annotation and label holding an Indexed Job pod's completion index.</summary>
    public const string CompletionIndexAnnotation = "batch.kubernetes.io/job-completion-index";

    /// <summary>First delay before a failed pod is replaced; doubled per further failure up to <see cref="MaxBackoff"/>.</summary>
    public static readonly TimeSpan BaseBackoff = TimeSpan.FromSeconds(10);

    /// <summary>Longest delay before a failed pod is replaced.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(6);

    const string Component = "job-controller";
    static readonly ApiResource Jobs = Obj.Resource("batch", "jobs");
    static readonly ApiResource Pods = Obj.Resource("", "pods");

    readonly ControllerContext _ctx;
    readonly Informer _pods;
    readonly WorkQueue _queue;
    readonly ILogger _logger;
    readonly PodExpectations _expect;
    readonly ConcurrentDictionary<string, (int Failures, DateTimeOffset LastFailure)> _backoff = new(StringComparer.Ordinal);

    /// <summary>Registers on the Job and Pod informers.</summary>
    public JobController(ControllerContext ctx)
    {
        _ctx = ctx;
        _logger = ctx.Logger("Job");
        _queue = new WorkQueue(Name, _logger, ctx.Clock);
        _expect = new PodExpectations(ctx.Clock);
        ctx.Informers.For(Jobs).OnChange((old, cur) => _queue.Add(Informer.KeyOf(cur ?? old!)));
        _pods = ctx.Informers.For(Pods);
        _pods.OnChange(OnPodChange);
    }

    /// <inheritdoc />
    public string Name => Component;

    /// <inheritdoc />
    public Task RunAsync(CancellationToken ct) => _queue.RunAsync(2, SyncAsync, ct);

    void OnPodChange(JsonObject? old, JsonObject? cur)
    {
        _expect.Observe(old, cur);
        var pod = cur ?? old!;
        if (Obj.ControllerRef(pod) is { } owner && Obj.Str(owner, "kind") == "Job" && Obj.Str(owner, "apiVersion") == Jobs.ApiVersion)
            _queue.Add(Informer.KeyOf(Meta.Namespace(pod), Obj.Str(owner, "name") ?? ""));
    }

    /// <summary>The pods of <paramref name="job"/> in the cache (controlled by it).</summary>
    List<JsonObject> PodsOf(JsonObject job)
    {
        var uid = Obj.Uid(job);
        return _pods.ByIndex(SharedInformers.ByOwner, uid).Where(p => Obj.IsControlledBy(p, uid)).ToList();
    }

    /// <summary>A Job that is gone leaves pods with the finalizer: release them so they can be deleted.</summary>
    async Task ReleaseOrphansAsync(string key, string? ns, string name, CancellationToken ct)
    {
        _expect.Forget(key);
        var orphans = _pods.ByIndex(SharedInformers.ByNamespace, ns ?? "")
            .Where(p => Obj.ControllerRef(p) is { } r && Obj.Str(r, "kind") == "Job" && Obj.Str(r, "name") == name);
        await ReleaseAsync(orphans, ct);
    }

    /// <summary>Removes the tracking finalizer from those of <paramref name="pods"/> that carry it; returns their uids.</summary>
    async Task<HashSet<string>> ReleaseAsync(IEnumerable<JsonObject> pods, CancellationToken ct)
    {
        var released = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pod in pods)
        {
            var uid = Obj.Uid(pod);
            if (!Meta.Finalizers(pod).Contains(TrackingFinalizer) || _expect.Releasing(uid)) continue;
            _expect.ExpectRelease(uid);
            try
            {
                await _ctx.Store.UpdateAsync(Pods, Meta.Namespace(pod), Meta.Name(pod)!, cur =>
                {
                    if (Obj.Uid(cur) != uid) throw ApiException.NotFound(Pods, Meta.Name(pod)!);
                    if (Meta.Of(cur)["finalizers"] is JsonArray f)
                        foreach (var item in f.Where(x => x?.GetValue<string>() == TrackingFinalizer).ToList()) f.Remove(item);
                    return cur;
                }, false, ct);
            }
            catch (ApiException e) when (e.Code == 404)
            {
                // Gone already: nothing holds it.
            }
            catch
            {
                _expect.ReleaseFailed(uid);
                throw;
            }
            released.Add(uid);
        }
        return released;
    }

    /// <summary>Deletes a finished Job once its ttlSecondsAfterFinished has passed, as the ttl-after-finished controller does.</summary>
    async Task HandleTtlAsync(string key, JsonObject job, JsonObject finished, CancellationToken ct)
    {
        if (Obj.Long(job, "spec", "ttlSecondsAfterFinished") is not long ttl || Obj.IsDeleting(job)) return;
        var at = (Obj.Time(job, "status", "completionTime") ?? Obj.Time(finished, "lastTransitionTime") ?? _ctx.Clock.GetUtcNow()) + TimeSpan.FromSeconds(ttl);
        var wait = at - _ctx.Clock.GetUtcNow();
        if (wait > TimeSpan.Zero)
        {
            _queue.AddAfter(key, wait);
            return;
        }
        _logger.LogInformation("job {Key}: deleting, ttlSecondsAfterFinished ({Ttl} s) has passed", key, ttl);
        await _ctx.Store.DeleteAsync(Jobs, Meta.Namespace(job), Meta.Name(job)!, new DeleteOptions(Obj.Uid(job), null, "Foreground"), ct);
    }

    /// <summary>The delay before failed pods may be replaced, or zero.</summary>
    TimeSpan BackoffRemaining(string uid)
    {
        if (!_backoff.TryGetValue(uid, out var b) || b.Failures == 0) return TimeSpan.Zero;
        var delay = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, BaseBackoff.Ticks << Math.Min(b.Failures - 1, 10)));
        return b.LastFailure + delay - _ctx.Clock.GetUtcNow();
    }

    /// <summary>Records newly counted failures and successes of a Job's pods for the re-creation back-off.</summary>
    void RecordOutcomes(string uid, int newFailures, int newSuccesses)
    {
        if (newSuccesses > 0 && newFailures == 0) _backoff[uid] = (0, default);
        else if (newFailures > 0)
            _backoff.AddOrUpdate(uid, _ => (newFailures, _ctx.Clock.GetUtcNow()), (_, b) => (b.Failures + newFailures, _ctx.Clock.GetUtcNow()));
    }
}
