// The CronJob controller's history limits and the small helpers on its status.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.CronJob;

public sealed partial class CronJobController
{
    /// <summary>Deletes the oldest finished Jobs past successfulJobsHistoryLimit and failedJobsHistoryLimit (by start time, then name).</summary>
    async Task CleanupFinishedAsync(JsonObject cronJob, JsonObject status, List<JsonObject> jobs, CancellationToken ct)
    {
        foreach (var (type, field) in new[] { ("Complete", "successfulJobsHistoryLimit"), ("Failed", "failedJobsHistoryLimit") })
        {
            if (Obj.Long(cronJob, "spec", field) is not long limit) continue;
            var finished = jobs.Where(j => FinishedType(j) == type && !Obj.IsDeleting(j))
                .OrderBy(j => Obj.Time(j, "status", "startTime") is null)
                .ThenBy(j => Obj.Time(j, "status", "startTime"))
                .ThenBy(j => Meta.Name(j), StringComparer.Ordinal)
                .ToList();
            foreach (var job in finished.Take(Math.Max(0, finished.Count - (int)limit)))
                await DeleteJobAsync(cronJob, status, Meta.Name(job)!, Obj.Uid(job), ct);
        }
    }

    /// <summary>Deletes a Job (its pods follow in the background) and drops it from the active list.</summary>
    async Task DeleteJobAsync(JsonObject cronJob, JsonObject status, string name, string uid, CancellationToken ct)
    {
        try
        {
            await _ctx.Store.DeleteAsync(Jobs, Meta.Namespace(cronJob), name, new DeleteOptions(uid, null, "Background"), ct);
        }
        catch (ApiException e) when (e.Code is not (404 or 409))
        {
            Record(cronJob, EventRecorder.Warning, "FailedDelete", $"Deleted job: {e.Message}");
            throw;
        }
        catch (ApiException)
        {
            // Gone already, or another Job by that name now.
        }
        RemoveActive(status, uid);
        Record(cronJob, EventRecorder.Normal, "SuccessfulDelete", $"Deleted job {name}");
    }

    /// <summary>"Complete" or "Failed" when that condition is True, else null.</summary>
    static string? FinishedType(JsonObject job) =>
        Obj.Items(job, "status", "conditions").FirstOrDefault(c => Obj.Str(c, "type") is "Complete" or "Failed" && Obj.Str(c, "status") == "True") is { } c
            ? Obj.Str(c, "type") : null;

    static bool InActive(JsonObject status, string uid) => Obj.Items(status, "active").Any(r => Obj.Str(r, "uid") == uid);

    static void RemoveActive(JsonObject status, string uid)
    {
        if (status["active"] is not JsonArray active) return;
        foreach (var item in active.OfType<JsonObject>().Where(r => Obj.Str(r, "uid") == uid).ToList()) active.Remove(item);
        if (active.Count == 0) status.Remove("active");
    }

    static JsonObject Reference(JsonObject job) => new()
    {
        ["kind"] = "Job",
        ["namespace"] = Meta.Namespace(job),
        ["name"] = Meta.Name(job),
        ["uid"] = Obj.Uid(job),
        ["apiVersion"] = Jobs.ApiVersion,
        ["resourceVersion"] = Meta.Str(job, "resourceVersion"),
    };

    void Record(JsonObject cronJob, string type, string reason, string message) => _ctx.Events.Record(cronJob, type, reason, message, Component);
}
