// Job conditions with upstream's types, reasons and messages.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Job;

/// <summary>
/// As 1.32 does: the Job's fate is first an interim condition (FailureTarget or SuccessCriteriaMet), and the terminal
/// one (Failed or Complete, with the same reason and message) follows once no pod of it runs or terminates.
/// </summary>
static class JobConditions
{
    /// <summary>Reason and message of a Job that failed too often.</summary>
    public static readonly (string Reason, string Message) BackoffLimitExceeded = ("BackoffLimitExceeded", "Job has reached the specified backoff limit");

    /// <summary>Reason and message of a Job past activeDeadlineSeconds.</summary>
    public static readonly (string Reason, string Message) DeadlineExceeded = ("DeadlineExceeded", "Job was active longer than specified deadline");

    /// <summary>Reason and message of a Job with its completions.</summary>
    public static readonly (string Reason, string Message) CompletionsReached = ("CompletionsReached", "Reached expected number of succeeded pods");

    /// <summary>The Complete or Failed condition that is True, or null.</summary>
    public static JsonObject? Finished(JsonObject job) =>
        Obj.Items(job, "status", "conditions").FirstOrDefault(c => Obj.Str(c, "type") is "Complete" or "Failed" && Obj.Str(c, "status") == "True");

    /// <summary>The FailureTarget or SuccessCriteriaMet condition that is True, or null.</summary>
    public static JsonObject? Target(JsonObject status) =>
        Obj.Items(status, "conditions").FirstOrDefault(c => Obj.Str(c, "type") is "FailureTarget" or "SuccessCriteriaMet" && Obj.Str(c, "status") == "True");

    /// <summary>Adds (or sets) condition <paramref name="type"/> True; returns it.</summary>
    public static JsonObject Add(JsonObject status, string type, (string Reason, string Message) why, DateTimeOffset now) =>
        Set(status, type, "True", why.Reason, why.Message, now);

    /// <summary>Adds the terminal condition that follows <paramref name="target"/>; Complete also sets completionTime.</summary>
    public static JsonObject Finish(JsonObject status, JsonObject target, DateTimeOffset now)
    {
        var complete = Obj.Str(target, "type") == "SuccessCriteriaMet";
        if (complete) status["completionTime"] = Obj.Time(now);
        return Set(status, complete ? "Complete" : "Failed", "True", Obj.Str(target, "reason") ?? "", Obj.Str(target, "message") ?? "", now);
    }

    /// <summary>The Suspended condition: True (JobSuspended) while suspended, False (JobResumed) once resumed; events as upstream.</summary>
    public static void SetSuspended(JsonObject status, bool suspend, DateTimeOffset now, JsonObject job, EventRecorder events, string component)
    {
        var current = Obj.Items(status, "conditions").FirstOrDefault(c => Obj.Str(c, "type") == "Suspended");
        var isSuspended = current is not null && Obj.Str(current, "status") == "True";
        if (suspend && !isSuspended)
        {
            Set(status, "Suspended", "True", "JobSuspended", "Job suspended", now);
            events.Record(job, EventRecorder.Normal, "Suspended", "Job suspended", component);
        }
        else if (!suspend && isSuspended)
        {
            Set(status, "Suspended", "False", "JobResumed", "Job resumed", now);
            status["startTime"] = Obj.Time(now);
            events.Record(job, EventRecorder.Normal, "Resumed", "Job resumed", component);
        }
    }

    static JsonObject Set(JsonObject status, string type, string value, string reason, string message, DateTimeOffset now)
    {
        if (status["conditions"] is not JsonArray conditions) status["conditions"] = conditions = [];
        var condition = conditions.OfType<JsonObject>().FirstOrDefault(c => Obj.Str(c, "type") == type);
        if (condition is null) conditions.Add((JsonNode)(condition = new JsonObject { ["type"] = type }));
        if (Obj.Str(condition, "status") != value) condition["lastTransitionTime"] = Obj.Time(now);
        condition["status"] = value;
        condition["lastProbeTime"] = Obj.Time(now);
        condition["reason"] = reason;
        condition["message"] = message;
        return condition;
    }
}
