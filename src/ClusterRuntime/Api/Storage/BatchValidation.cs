// Validation of batch/v1 Jobs and CronJobs with upstream's field paths and messages (422 Invalid).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Controllers.CronJob;

namespace Appliance.ClusterRuntime.Api.Storage;

/// <summary>
/// The checks of upstream's batch validation that users meet: a Job template's restartPolicy (OnFailure or Never),
/// non-negative counts, completionMode, the selector matching the template; a CronJob's schedule (parsed as the
/// controller parses it), timeZone, concurrencyPolicy and its name length (52, room for the Job name suffix).
/// </summary>
public static class BatchValidation
{
    /// <summary>Throws 422 listing every problem of a Job or CronJob.</summary>
    public static void Check(ApiResource r, JsonObject obj)
    {
        var problems = new List<(string Field, string Message)>();
        var spec = obj["spec"] as JsonObject ?? [];
        if (r.Kind == "Job") CheckJobSpec(spec, "spec", problems);
        else if (r.Kind == "CronJob")
        {
            var name = Meta.Name(obj) ?? "";
            if (name.Length > 52) problems.Add(("metadata.name", $"Invalid value: \"{name}\": must be no more than 52 characters"));
            CheckCronJobSpec(spec, problems);
            var jobSpec = spec["jobTemplate"]?["spec"] as JsonObject ?? [];
            CheckJobSpec(jobSpec, "spec.jobTemplate.spec", problems);
        }
        if (problems.Count > 0) throw ApiException.Invalid(r.Group, r.Kind, Meta.Name(obj) ?? "", problems);
    }

    static void CheckJobSpec(JsonObject spec, string path, List<(string, string)> problems)
    {
        foreach (var field in new[] { "parallelism", "completions", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished" })
            if (spec[field] is JsonValue v && v.TryGetValue<long>(out var n) && n < 0)
                problems.Add(($"{path}.{field}", $"Invalid value: {n}: must be greater than or equal to 0"));
        var mode = spec["completionMode"] is JsonValue m && m.TryGetValue<string>(out var s) ? s : "NonIndexed";
        if (mode is not ("NonIndexed" or "Indexed"))
            problems.Add(($"{path}.completionMode", $"Unsupported value: \"{mode}\": supported values: \"NonIndexed\", \"Indexed\""));
        if (mode == "Indexed" && spec["completions"] is null)
            problems.Add(($"{path}.completions", "Required value: when completion mode is Indexed"));
        var restart = spec["template"]?["spec"]?["restartPolicy"] is JsonValue rp && rp.TryGetValue<string>(out var p) ? p : "";
        if (restart is not ("OnFailure" or "Never"))
            problems.Add(($"{path}.template.spec.restartPolicy", restart.Length == 0
                ? "Required value: valid values: \"OnFailure\", \"Never\""
                : $"Unsupported value: \"{restart}\": supported values: \"OnFailure\", \"Never\""));
        if (path == "spec")
        {
            if (spec["selector"] is not JsonObject selector) problems.Add(("spec.selector", "Required value"));
            else if (!LabelSelector.FromObject(selector).Matches(k => spec["template"]?["metadata"]?["labels"]?[k]?.GetValue<string>()))
                problems.Add(("spec.template.metadata.labels", "Invalid value: `selector` does not match template `labels`"));
        }
    }

    static void CheckCronJobSpec(JsonObject spec, List<(string, string)> problems)
    {
        var schedule = spec["schedule"] is JsonValue sv && sv.TryGetValue<string>(out var s) ? s : "";
        TimeZoneInfo? zone = null;
        if (spec["timeZone"] is JsonValue tv && tv.TryGetValue<string>(out var tz))
        {
            if (tz.Length == 0) problems.Add(("spec.timeZone", "Invalid value: \"\": timeZone must be nil or non-empty string"));
            else if (tz.Equals("Local", StringComparison.OrdinalIgnoreCase))
                problems.Add(("spec.timeZone", $"Invalid value: \"{tz}\": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"));
            else
                try { zone = CronSchedule.Zone(tz); }
                catch (FormatException e) { problems.Add(("spec.timeZone", $"Invalid value: \"{tz}\": {e.Message}")); }
        }
        if (schedule.Length == 0) problems.Add(("spec.schedule", "Required value"));
        else if (schedule.Contains("TZ", StringComparison.Ordinal))
            problems.Add(("spec.schedule", $"Invalid value: \"{schedule}\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead"));
        else
            try { CronSchedule.Parse(schedule, zone); }
            catch (FormatException e) { problems.Add(("spec.schedule", $"Invalid value: \"{schedule}\": {e.Message}")); }
        var policy = spec["concurrencyPolicy"] is JsonValue cv && cv.TryGetValue<string>(out var c) ? c : "Allow";
        if (policy is not ("Allow" or "Forbid" or "Replace"))
            problems.Add(("spec.concurrencyPolicy", $"Unsupported value: \"{policy}\": supported values: \"Allow\", \"Forbid\", \"Replace\""));
        foreach (var field in new[] { "startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit" })
            if (spec[field] is JsonValue v && v.TryGetValue<long>(out var n) && n < 0)
                problems.Add(($"spec.{field}", $"Invalid value: {n}: must be greater than or equal to 0"));
    }
}
