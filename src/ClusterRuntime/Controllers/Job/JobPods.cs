// Reading a Job's pods (phase, readiness, completion index) and making new ones from its template.
using System.Globalization;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Job;

/// <summary>Pod helpers of the Job controller.</summary>
static class JobPods
{
    /// <summary>Container restarts of the pod (init containers too), as a restartPolicy OnFailure Job counts failures.</summary>
    public static long Restarts(JsonObject pod) =>
        Obj.Items(pod, "status", "containerStatuses").Concat(Obj.Items(pod, "status", "initContainerStatuses")).Sum(c => Obj.Long(c, "restartCount") ?? 0);

    /// <summary>The completion index of an Indexed Job's pod, or null when missing or not below <paramref name="completions"/>.</summary>
    public static int? Index(JsonObject pod, int completions) =>
        Obj.Str(pod, "metadata", "annotations", JobController.CompletionIndexAnnotation) is { } s
        && int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < completions ? i : null;

    /// <summary>
    /// A pod for <paramref name="job"/> named <paramref name="name"/>: the template's metadata and spec, the Job as
    /// controller owner, the tracking finalizer; for an Indexed Job its index as annotation, label, hostname
    /// <c>JOB-INDEX</c> and the <c>JOB_COMPLETION_INDEX</c> environment variable, as upstream makes them.
    /// </summary>
    public static JsonObject New(JsonObject job, ApiResource jobs, string name, int? index)
    {
        var template = Obj.Object(job, "spec", "template") ?? [];
        var meta = new JsonObject { ["name"] = name, ["namespace"] = Meta.Namespace(job) };
        if (Obj.Object(template, "metadata", "labels") is { } labels) meta["labels"] = labels.DeepClone();
        if (Obj.Object(template, "metadata", "annotations") is { } annotations) meta["annotations"] = annotations.DeepClone();
        meta["ownerReferences"] = new JsonArray(Obj.OwnerRef(job, jobs));
        meta["finalizers"] = new JsonArray(JobController.TrackingFinalizer);
        var spec = Obj.Object(template, "spec") is { } s ? Obj.Clone(s) : [];
        if (index is int i)
        {
            var text = i.ToString(CultureInfo.InvariantCulture);
            Obj.Ensure(meta, "annotations")[JobController.CompletionIndexAnnotation] = text;
            Obj.Ensure(meta, "labels")[JobController.CompletionIndexAnnotation] = text;
            spec["hostname"] ??= $"{Meta.Name(job)}-{text}";
            foreach (var container in Obj.Items(spec, "containers").Concat(Obj.Items(spec, "initContainers")))
            {
                if (container["env"] is not JsonArray env) container["env"] = env = [];
                if (env.OfType<JsonObject>().Any(e => Obj.Str(e, "name") == "JOB_COMPLETION_INDEX")) continue;
                env.Add((JsonNode)new JsonObject
                {
                    ["name"] = "JOB_COMPLETION_INDEX",
                    ["valueFrom"] = new JsonObject
                    {
                        ["fieldRef"] = new JsonObject { ["fieldPath"] = $"metadata.labels['{JobController.CompletionIndexAnnotation}']" },
                    },
                });
            }
        }
        return new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = meta, ["spec"] = spec };
    }

    /// <summary>The name of a new pod: <c>JOB-</c> (<c>JOB-INDEX-</c> when indexed) and five random characters.</summary>
    public static string NewName(JsonObject job, int? index) =>
        $"{Meta.Name(job)}-{(index is int i ? i.ToString(CultureInfo.InvariantCulture) + "-" : "")}{ObjectStore.RandomSuffix()}";
}
