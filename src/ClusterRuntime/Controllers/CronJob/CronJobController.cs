// The CronJob controller: creates a Job at each scheduled time on the node's clock (kube-controller-manager's cronjob-controller).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.CronJob;

/// <summary>
/// As upstream's CronJob controller (v2): on each sync it settles <c>status.active</c> against the Jobs it owns,
/// runs the most recent unmet scheduled time (within startingDeadlineSeconds, after concurrencyPolicy), removes
/// finished Jobs past the history limits, and queues itself for just after the next scheduled time. Job names are
/// deterministic per scheduled time, so a restart between creating a Job and writing status cannot run it twice.
/// </summary>
public sealed partial class CronJobController : IController
{
    /// <summary>Annotation of a Job with the time it was scheduled for, in the CronJob's time zone.</summary>
    public const string ScheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp";

    const string Component = "cronjob-controller";
    static readonly ApiResource CronJobs = Obj.Resource("batch", "cronjobs");
    static readonly ApiResource Jobs = Obj.Resource("batch", "jobs");

    readonly ControllerContext _ctx;
    readonly Informer _jobs;
    readonly WorkQueue _queue;
    readonly ILogger _logger;

    /// <summary>Registers on the CronJob and Job informers.</summary>
    public CronJobController(ControllerContext ctx)
    {
        _ctx = ctx;
        _logger = ctx.Logger("CronJob");
        _queue = new WorkQueue(Name, _logger, ctx.Clock);
        ctx.Informers.For(CronJobs).OnChange((old, cur) => _queue.Add(Informer.KeyOf(cur ?? old!)));
        _jobs = ctx.Informers.For(Jobs);
        _jobs.OnChange((old, cur) =>
        {
            var job = cur ?? old!;
            if (Obj.ControllerRef(job) is { } owner && Obj.Str(owner, "kind") == "CronJob")
                _queue.Add(Informer.KeyOf(Meta.Namespace(job), Obj.Str(owner, "name") ?? ""));
        });
    }

    /// <inheritdoc />
    public string Name => Component;

    /// <inheritdoc />
    public Task RunAsync(CancellationToken ct) => _queue.RunAsync(1, SyncAsync, ct);

    async Task SyncAsync(string key, CancellationToken ct)
    {
        var (ns, name) = Informer.SplitKey(key);
        var (_, cronJob) = await _ctx.Store.TryGetAsync(CronJobs, ns, name, ct);
        if (cronJob is null) return;
        var uid = Obj.Uid(cronJob);
        var jobs = _jobs.ByIndex(SharedInformers.ByOwner, uid).Where(j => Obj.IsControlledBy(j, uid)).ToList();
        var status = Obj.Object(cronJob, "status") is { } s ? Obj.Clone(s) : [];
        var before = status.DeepClone();
        var working = Obj.Clone(cronJob);
        working["status"] = status;

        var requeue = await ScheduleAsync(working, status, jobs, ct);
        if (!Obj.IsDeleting(cronJob)) await CleanupFinishedAsync(working, status, jobs, ct);
        if (!JsonNode.DeepEquals(before, status))
            await _ctx.Store.UpdateAsync(CronJobs, ns, name, cur =>
            {
                Meta.Of(cur)["resourceVersion"] = Meta.Str(cronJob, "resourceVersion");
                cur["status"] = status.DeepClone();
                return cur;
            }, statusOnly: true, ct);
        if (requeue is TimeSpan wait) _queue.AddAfter(key, wait);
    }

    /// <summary>Upstream's syncCronJob: settles the active list, then maybe starts the Job of the newest unmet time.</summary>
    async Task<TimeSpan?> ScheduleAsync(JsonObject cronJob, JsonObject status, List<JsonObject> jobs, CancellationToken ct)
    {
        var now = _ctx.Clock.GetUtcNow();
        var children = new HashSet<string>(StringComparer.Ordinal);
        foreach (var job in jobs)
        {
            var jobUid = Obj.Uid(job);
            children.Add(jobUid);
            var found = InActive(status, jobUid);
            var finished = FinishedType(job);
            if (!found && finished is null)
                Record(cronJob, EventRecorder.Warning, "UnexpectedJob", $"Saw a job that the controller did not create or forgot: {Meta.Name(job)}");
            else if (finished is not null)
            {
                if (found)
                {
                    RemoveActive(status, jobUid);
                    Record(cronJob, EventRecorder.Normal, "SawCompletedJob", $"Saw completed job: {Meta.Name(job)}, condition: {finished}");
                }
                if (finished == "Complete" && Obj.Time(job, "status", "completionTime") is { } done
                    && (Obj.Time(status, "lastSuccessfulTime") is not { } last || done > last))
                    status["lastSuccessfulTime"] = Obj.Time(done);
            }
        }
        foreach (var reference in Obj.Items(status, "active").ToList())
        {
            if (children.Contains(Obj.Str(reference, "uid") ?? "")) continue;
            var (kv, _) = await _ctx.Store.TryGetAsync(Jobs, Obj.Str(reference, "namespace"), Obj.Str(reference, "name") ?? "", ct);
            if (kv is not null) continue; // the informer is behind
            Record(cronJob, EventRecorder.Normal, "MissingJob", $"Active job went missing: {Obj.Str(reference, "name")}");
            RemoveActive(status, Obj.Str(reference, "uid") ?? "");
        }
        if (Obj.IsDeleting(cronJob)) return null;

        var timeZone = Obj.Str(cronJob, "spec", "timeZone");
        TimeZoneInfo zone;
        try { zone = CronSchedule.Zone(timeZone); }
        catch (FormatException e)
        {
            Record(cronJob, EventRecorder.Warning, "UnknownTimeZone", $"invalid timeZone: \"{timeZone}\": {e.Message}");
            return null;
        }
        if (Obj.Bool(cronJob, "spec", "suspend") == true) return null;
        var scheduleText = Obj.Str(cronJob, "spec", "schedule") ?? "";
        CronSchedule schedule;
        try { schedule = CronSchedule.Parse(scheduleText, zone); }
        catch (FormatException e)
        {
            Record(cronJob, EventRecorder.Warning, "UnparseableSchedule", $"unparseable schedule: \"{scheduleText}\" : {e.Message}");
            return null;
        }

        DateTimeOffset scheduled;
        try
        {
            var (_, mostRecent, missed) = ScheduleTimes.MostRecent(cronJob, now, schedule, withStartingDeadline: true);
            if (mostRecent is not { } t || t > now) return ScheduleTimes.UntilNext(cronJob, now, schedule);
            if (missed > ScheduleTimes.ManyMissed)
                Record(cronJob, EventRecorder.Warning, "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew");
            scheduled = t;
        }
        catch (FormatException e)
        {
            Record(cronJob, EventRecorder.Warning, "InvalidSchedule", $"invalid schedule: {scheduleText} : {e.Message}");
            return null;
        }

        if (Obj.Long(cronJob, "spec", "startingDeadlineSeconds") is long deadline && scheduled + TimeSpan.FromSeconds(deadline) < now)
        {
            Record(cronJob, EventRecorder.Warning, "MissSchedule", $"Missed scheduled time to start a job: {scheduled.UtcDateTime:ddd, dd MMM yyyy HH:mm:ss} +0000");
            return ScheduleTimes.UntilNext(cronJob, now, schedule);
        }
        var jobName = ScheduleTimes.JobName(cronJob, scheduled);
        if (Obj.Items(status, "active").Any(r => Obj.Str(r, "name") == jobName) || Obj.Time(status, "lastScheduleTime") == scheduled)
            return ScheduleTimes.UntilNext(cronJob, now, schedule);
        var policy = Obj.Str(cronJob, "spec", "concurrencyPolicy") ?? "Allow";
        if (policy == "Forbid" && Obj.Items(status, "active").Any())
        {
            Record(cronJob, EventRecorder.Normal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid");
            return ScheduleTimes.UntilNext(cronJob, now, schedule);
        }
        if (policy == "Replace")
            foreach (var reference in Obj.Items(status, "active").ToList())
                await DeleteJobAsync(cronJob, status, Obj.Str(reference, "name") ?? "", Obj.Str(reference, "uid") ?? "", ct);

        var created = await CreateJobAsync(cronJob, status, jobName, scheduled, schedule, ct);
        if (created is null) return null;
        if (!InActive(status, Obj.Uid(created)))
        {
            if (status["active"] is not JsonArray active) status["active"] = active = [];
            active.Add((JsonNode)Reference(created));
        }
        status["lastScheduleTime"] = Obj.Time(scheduled);
        return ScheduleTimes.UntilNext(cronJob, now, schedule);
    }

    /// <summary>Creates the Job of <paramref name="scheduled"/>; an existing one (a restart after creating it) is adopted if this CronJob controls it, else null.</summary>
    async Task<JsonObject?> CreateJobAsync(JsonObject cronJob, JsonObject status, string jobName, DateTimeOffset scheduled, CronSchedule schedule, CancellationToken ct)
    {
        var ns = Meta.Namespace(cronJob);
        try
        {
            var job = await _ctx.Store.CreateAsync(Jobs, ns, JobFromTemplate(cronJob, jobName, schedule.InZone(scheduled)), ct);
            Record(cronJob, EventRecorder.Normal, "SuccessfulCreate", $"Created job {jobName}");
            return job;
        }
        catch (ApiException e) when (e.Code == 409)
        {
            var (_, existing) = await _ctx.Store.TryGetAsync(Jobs, ns, jobName, ct);
            if (existing is null) throw;
            _logger.LogInformation("cronjob {Namespace}/{Name}: job {Job} already exists", ns, Meta.Name(cronJob), jobName);
            return Obj.IsControlledBy(existing, Obj.Uid(cronJob)) && !InActive(status, Obj.Uid(existing)) ? existing : null;
        }
        catch (ApiException e) when (e.Code != 403)
        {
            Record(cronJob, EventRecorder.Warning, "FailedCreate", $"Error creating job: {e.Message}");
            throw;
        }
    }

    JsonObject JobFromTemplate(JsonObject cronJob, string jobName, DateTimeOffset scheduledInZone)
    {
        var template = Obj.Object(cronJob, "spec", "jobTemplate") ?? [];
        var meta = new JsonObject { ["name"] = jobName, ["namespace"] = Meta.Namespace(cronJob) };
        if (Obj.Object(template, "metadata", "labels") is { } labels) meta["labels"] = labels.DeepClone();
        var annotations = Obj.Object(template, "metadata", "annotations") is { } a ? Obj.Clone(a) : [];
        annotations[ScheduledTimestampAnnotation] = ScheduleTimes.Rfc3339(scheduledInZone);
        meta["annotations"] = annotations;
        meta["ownerReferences"] = new JsonArray(Obj.OwnerRef(cronJob, CronJobs));
        var spec = Obj.Object(template, "spec") is { } s ? Obj.Clone(s) : [];
        return new JsonObject { ["apiVersion"] = Jobs.ApiVersion, ["kind"] = "Job", ["metadata"] = meta, ["spec"] = spec };
    }
}
