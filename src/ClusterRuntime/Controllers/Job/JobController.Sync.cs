// One reconciliation of a Job: count finished pods, decide the Job's conditions, create or delete pods, write status.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;

namespace Appliance.ClusterRuntime.Controllers.Job;

public sealed partial class JobController
{
    /// <summary>
    /// Upstream's order: finished pods still carrying the finalizer are first added to
    /// <c>status.uncountedTerminatedPods</c> (written), then released, then moved into the succeeded/failed counters
    /// (written). A restart between the steps repeats a step and never counts a pod twice or loses one.
    /// </summary>
    async Task SyncAsync(string key, CancellationToken ct)
    {
        var (ns, name) = Informer.SplitKey(key);
        var (_, job) = await _ctx.Store.TryGetAsync(Jobs, ns, name, ct);
        if (job is null)
        {
            await ReleaseOrphansAsync(key, ns, name, ct);
            return;
        }
        var uid = Obj.Uid(job);
        var pods = PodsOf(job);
        if (JobConditions.Finished(job) is { } finished)
        {
            foreach (var pod in pods.Where(PodState.IsActive)) await DeletePodAsync(key, job, pod, ct);
            await ReleaseAsync(pods, ct);
            await HandleTtlAsync(key, job, finished, ct);
            return;
        }
        if (Obj.IsDeleting(job))
        {
            await ReleaseAsync(pods, ct);
            return;
        }

        var now = _ctx.Clock.GetUtcNow();
        var spec = new JobSpecView(job);
        var status = Obj.Object(job, "status") is { } s ? Obj.Clone(s) : [];
        var before = status.DeepClone();
        var uncountedSucceeded = Uids(status, "succeeded");
        var uncountedFailed = Uids(status, "failed");
        var completed = IndexSet.Parse(Obj.Str(status, "completedIndexes"), spec.Completions ?? 0);
        var target = JobConditions.Target(status);

        // 1. Finished or deleted pods that still carry the finalizer are noted as uncounted.
        var toRelease = new List<JsonObject>();
        int newFailures = 0, newSuccesses = 0;
        foreach (var pod in pods)
        {
            if (!Meta.Finalizers(pod).Contains(TrackingFinalizer) || _expect.Releasing(Obj.Uid(pod))) continue;
            if (!PodState.IsTerminal(pod) && !Obj.IsDeleting(pod)) continue;
            toRelease.Add(pod);
            var podUid = Obj.Uid(pod);
            if (PodState.Phase(pod) == "Succeeded" && !uncountedFailed.Contains(podUid))
            {
                if (uncountedSucceeded.Add(podUid)) newSuccesses++;
                if (spec.Indexed && JobPods.Index(pod, spec.Completions ?? 0) is int ix) completed.Add(ix);
            }
            else if (!uncountedSucceeded.Contains(podUid) && uncountedFailed.Add(podUid)) newFailures++;
        }
        RecordOutcomes(uid, newFailures, newSuccesses);

        var active = pods.Where(p => PodState.IsActive(p) && !_expect.Releasing(Obj.Uid(p))).ToList();
        var terminating = pods.Count(p => Obj.IsDeleting(p) && !PodState.IsTerminal(p));
        var succeeded = spec.Indexed ? completed.Count : Obj.Int(status, 0, "succeeded") + uncountedSucceeded.Count;
        var failed = Obj.Int(status, 0, "failed") + uncountedFailed.Count;

        // 2. The Job's fate: upstream checks the back-off limit, then the deadline, then success.
        if (status["startTime"] is null && !spec.Suspend) status["startTime"] = Obj.Time(now);
        if (target is null)
        {
            if (failed > spec.BackoffLimit || spec.OnFailure && PastBackoffLimitOnFailure(active, spec.BackoffLimit))
                target = JobConditions.Add(status, "FailureTarget", JobConditions.BackoffLimitExceeded, now);
            else if (spec.ActiveDeadline is long deadline && !spec.Suspend && Obj.Time(status, "startTime") is { } started)
            {
                var left = started + TimeSpan.FromSeconds(deadline) - now;
                if (left <= TimeSpan.Zero) target = JobConditions.Add(status, "FailureTarget", JobConditions.DeadlineExceeded, now);
                else _queue.AddAfter(key, left);
            }
            if (target is null && IsComplete(spec, succeeded, active.Count, completed))
                target = JobConditions.Add(status, "SuccessCriteriaMet", JobConditions.CompletionsReached, now);
            if (target is not null && Obj.Str(target, "type") == "FailureTarget")
                _ctx.Events.Record(job, EventRecorder.Warning, Obj.Str(target, "reason")!, Obj.Str(target, "message")!, Component);
        }

        // 3. Pods: all go once the Job's fate is known or while it is suspended; else as many as it needs run.
        if (target is not null || spec.Suspend)
        {
            foreach (var pod in active) await DeletePodAsync(key, job, pod, ct);
            terminating += active.Count;
            active.Clear();
        }
        else if (!_expect.Pending(key))
            await ManagePodsAsync(key, job, spec, active, succeeded, completed, ct);
        if (target is null) JobConditions.SetSuspended(status, spec.Suspend, now, job, _ctx.Events, Component);

        status["active"] = active.Count;
        status["ready"] = active.Count(PodState.IsReady);
        status["terminating"] = terminating;
        SetUncounted(status, uncountedSucceeded, uncountedFailed);
        if (spec.Indexed) status["completedIndexes"] = completed.ToString();
        Compact(status);
        var rv = Meta.Str(job, "resourceVersion")!;
        if (!JsonNode.DeepEquals(before, status)) rv = await WriteStatusAsync(job, rv, status, ct);

        // 4. Release the noted pods, then count those released (or gone) and finish the Job when nothing runs.
        var released = await ReleaseAsync(toRelease, ct);
        var inCache = pods.ToDictionary(Obj.Uid, StringComparer.Ordinal);
        bool Counted(string podUid) => released.Contains(podUid) || !inCache.TryGetValue(podUid, out var p) || !Meta.Finalizers(p).Contains(TrackingFinalizer);
        var movedSucceeded = uncountedSucceeded.Where(Counted).ToList();
        var movedFailed = uncountedFailed.Where(Counted).ToList();
        var after = status.DeepClone().AsObject();
        if (!spec.Indexed) after["succeeded"] = Obj.Int(status, 0, "succeeded") + movedSucceeded.Count;
        else after["succeeded"] = completed.Count;
        after["failed"] = Obj.Int(status, 0, "failed") + movedFailed.Count;
        uncountedSucceeded.ExceptWith(movedSucceeded);
        uncountedFailed.ExceptWith(movedFailed);
        SetUncounted(after, uncountedSucceeded, uncountedFailed);
        if (target is not null && active.Count == 0 && terminating - released.Count(u => inCache.TryGetValue(u, out var p) && !PodState.IsTerminal(p)) <= 0
            && uncountedSucceeded.Count == 0 && uncountedFailed.Count == 0)
        {
            after["terminating"] = 0;
            after["ready"] = 0;
            var final = JobConditions.Finish(after, target, now);
            if (Obj.Str(final, "type") == "Complete")
                _ctx.Events.Record(job, EventRecorder.Normal, "Completed", "Job completed", Component);
            _backoff.TryRemove(uid, out _);
        }
        Compact(after);
        if (!JsonNode.DeepEquals(status, after)) await WriteStatusAsync(job, rv, after, ct);
    }

    async Task ManagePodsAsync(string key, JsonObject job, JobSpecView spec, List<JsonObject> active, int succeeded, IndexSet completed, CancellationToken ct)
    {
        var want = spec.Completions is int completions
            ? Math.Max(0, Math.Min(spec.Parallelism, completions - succeeded))
            : succeeded > 0 ? 0 : spec.Parallelism;
        if (active.Count > want)
        {
            // Fewer wanted (parallelism lowered): delete the not-ready and the newest first, as upstream does.
            var extra = active.OrderBy(PodState.IsReady).ThenByDescending(p => Meta.Str(p, "creationTimestamp"), StringComparer.Ordinal)
                .Take(active.Count - want).ToList();
            foreach (var pod in extra) await DeletePodAsync(key, job, pod, ct);
            active.RemoveAll(extra.Contains);
            return;
        }
        if (active.Count == want) return;
        var wait = BackoffRemaining(Obj.Uid(job));
        if (wait > TimeSpan.Zero)
        {
            _queue.AddAfter(key, wait);
            return;
        }
        var indexes = new List<int?>();
        if (spec.Indexed)
        {
            var running = active.Select(p => JobPods.Index(p, spec.Completions!.Value)).OfType<int>().ToHashSet();
            for (var i = 0; i < spec.Completions!.Value && indexes.Count < want - active.Count; i++)
                if (!completed.Contains(i) && !running.Contains(i)) indexes.Add(i);
        }
        else indexes.AddRange(Enumerable.Repeat<int?>(null, want - active.Count));
        foreach (var index in indexes)
        {
            var podName = JobPods.NewName(job, index);
            var podKey = Informer.KeyOf(Meta.Namespace(job), podName);
            _expect.ExpectCreate(key, podKey);
            try
            {
                var pod = await _ctx.Store.CreateAsync(Pods, Meta.Namespace(job), JobPods.New(job, Jobs, podName, index), ct);
                active.Add(pod);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _expect.CreateFailed(podKey);
                if (e is ApiException api) _ctx.Events.Record(job, EventRecorder.Warning, "FailedCreate", $"Error creating: {api.Message}", Component);
                throw;
            }
            _ctx.Events.Record(job, EventRecorder.Normal, "SuccessfulCreate", $"Created pod: {podName}", Component);
        }
    }

    async Task DeletePodAsync(string key, JsonObject job, JsonObject pod, CancellationToken ct)
    {
        var podUid = Obj.Uid(pod);
        _expect.ExpectDelete(key, podUid);
        try
        {
            await _ctx.Store.DeleteAsync(Pods, Meta.Namespace(pod), Meta.Name(pod)!, new DeleteOptions(podUid, null, null), ct);
        }
        catch (ApiException e) when (e.Code is 404 or 409)
        {
            _expect.DeleteFailed(podUid);
            return;
        }
        catch
        {
            _expect.DeleteFailed(podUid);
            throw;
        }
        _ctx.Events.Record(job, EventRecorder.Normal, "SuccessfulDelete", $"Deleted pod: {Meta.Name(pod)}", Component);
    }

    /// <summary>Writes <paramref name="status"/> if the Job is still at <paramref name="rv"/> (else 409, retried); returns the new resourceVersion.</summary>
    async Task<string> WriteStatusAsync(JsonObject job, string rv, JsonObject status, CancellationToken ct)
    {
        var written = await _ctx.Store.UpdateAsync(Jobs, Meta.Namespace(job), Meta.Name(job)!, cur =>
        {
            Meta.Of(cur)["resourceVersion"] = rv;
            cur["status"] = status.DeepClone();
            return cur;
        }, statusOnly: true, ct);
        return Meta.Str(written, "resourceVersion")!;
    }

    static bool IsComplete(JobSpecView spec, int succeeded, int active, IndexSet completed) =>
        spec.Indexed ? completed.Count >= spec.Completions
        : spec.Completions is int c ? succeeded >= c
        : succeeded > 0 && active == 0;

    static bool PastBackoffLimitOnFailure(List<JsonObject> active, int limit)
    {
        var restarts = active.Sum(JobPods.Restarts);
        return limit == 0 ? restarts > 0 : restarts >= limit;
    }

    static HashSet<string> Uids(JsonObject status, string field) =>
        Obj.At(status, "uncountedTerminatedPods", field) is JsonArray a
            ? a.Select(n => n?.GetValue<string>()).OfType<string>().ToHashSet(StringComparer.Ordinal)
            : new HashSet<string>(StringComparer.Ordinal);

    static void SetUncounted(JsonObject status, HashSet<string> succeeded, HashSet<string> failed)
    {
        var uncounted = new JsonObject();
        if (succeeded.Count > 0) uncounted["succeeded"] = new JsonArray(succeeded.Order(StringComparer.Ordinal).Select(u => (JsonNode)u).ToArray());
        if (failed.Count > 0) uncounted["failed"] = new JsonArray(failed.Order(StringComparer.Ordinal).Select(u => (JsonNode)u).ToArray());
        status["uncountedTerminatedPods"] = uncounted;
    }

    /// <summary>Drops zero counters and empty fields, as upstream's omitempty does (ready and terminating stay).</summary>
    static void Compact(JsonObject status)
    {
        foreach (var field in new[] { "active", "succeeded", "failed" })
            if (status[field] is JsonValue v && v.ToJsonString() == "0") status.Remove(field);
        if (status["completedIndexes"] is null) status.Remove("completedIndexes");
    }
}
