// Defaults of batch/v1 Jobs and CronJobs at create, as upstream's defaulting and Job strategy fill them.
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.Storage;

/// <summary>
/// Job: completions and parallelism 1 when neither is given, backoffLimit 6, completionMode NonIndexed, suspend
/// false, podReplacementPolicy TerminatingOrFailed (Failed with a podFailurePolicy), manualSelector false; at create
/// a selector on <c>batch.kubernetes.io/controller-uid</c> and the matching labels on the template (unless
/// manualSelector). CronJob: concurrencyPolicy Allow, suspend false, history limits 3 and 1.
/// </summary>
public static class BatchDefaults
{
    /// <summary>Label of a Job's pods that its generated selector matches: the Job's uid.</summary>
    public const string ControllerUidLabel = "batch.kubernetes.io/controller-uid";

    /// <summary>Label of a Job's pods naming the Job.</summary>
    public const string JobNameLabel = "batch.kubernetes.io/job-name";

    /// <summary>Applies the Job defaults; the selector is generated only when <paramref name="creating"/>.</summary>
    public static void ApplyJob(JsonObject job, bool creating)
    {
        var spec = Defaults.Obj(job, "spec");
        if (spec["completions"] is null && spec["parallelism"] is null) spec["completions"] = 1;
        spec["parallelism"] ??= 1;
        spec["backoffLimit"] ??= spec["backoffLimitPerIndex"] is null ? 6 : int.MaxValue;
        spec["completionMode"] ??= "NonIndexed";
        spec["suspend"] ??= false;
        spec["podReplacementPolicy"] ??= spec["podFailurePolicy"] is null ? "TerminatingOrFailed" : "Failed";
        spec["manualSelector"] ??= false;
        var template = Defaults.Obj(spec, "template");
        Defaults.PodSpec(Defaults.Obj(template, "spec"));
        if (!creating || spec["manualSelector"] is JsonValue m && m.TryGetValue<bool>(out var manual) && manual) return;
        var uid = Meta.Str(job, "uid") ?? "";
        var name = Meta.Name(job) ?? "";
        var labels = Defaults.Obj(Defaults.Obj(template, "metadata"), "labels");
        labels[ControllerUidLabel] = uid;
        labels[JobNameLabel] = name;
        labels["controller-uid"] = uid;
        labels["job-name"] = name;
        spec["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { [ControllerUidLabel] = uid } };
    }

    /// <summary>Applies the CronJob defaults.</summary>
    public static void ApplyCronJob(JsonObject cronJob)
    {
        var spec = Defaults.Obj(cronJob, "spec");
        spec["concurrencyPolicy"] ??= "Allow";
        spec["suspend"] ??= false;
        spec["successfulJobsHistoryLimit"] ??= 3;
        spec["failedJobsHistoryLimit"] ??= 1;
        var template = Defaults.Obj(Defaults.Obj(Defaults.Obj(spec, "jobTemplate"), "spec"), "template");
        Defaults.PodSpec(Defaults.Obj(template, "spec"));
    }
}
