// The fields of a Job's spec the controller acts on, read once per sync with upstream's defaults.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Job;

/// <summary>A Job's spec as the controller reads it.</summary>
sealed class JobSpecView(JsonObject job)
{
    /// <summary>Pods wanted at once.</summary>
    public int Parallelism { get; } = Math.Max(0, Obj.Int(job, 1, "spec", "parallelism"));

    /// <summary>Successes wanted; null for a work-queue Job (done at the first success once nothing runs).</summary>
    public int? Completions { get; } = Obj.Long(job, "spec", "completions") is long c ? (int)c : null;

    /// <summary>Failures allowed (counted pods); one more fails the Job.</summary>
    public int BackoffLimit { get; } = Obj.Int(job, 6, "spec", "backoffLimit");

    /// <summary>Seconds the Job may be active, or null.</summary>
    public long? ActiveDeadline { get; } = Obj.Long(job, "spec", "activeDeadlineSeconds");

    /// <summary>True for completionMode Indexed.</summary>
    public bool Indexed { get; } = Obj.Str(job, "spec", "completionMode") == "Indexed";

    /// <summary>True while suspended.</summary>
    public bool Suspend { get; } = Obj.Bool(job, "spec", "suspend") == true;

    /// <summary>True when containers restart in place (restartPolicy OnFailure), so their restarts count as failures.</summary>
    public bool OnFailure { get; } = Obj.Str(job, "spec", "template", "spec", "restartPolicy") == "OnFailure";
}
