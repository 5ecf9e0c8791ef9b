// Per-kind defaulting applied on create and update (the small part of Kubernetes defaulting the server needs).
using System.Text;
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.Storage;

/// <summary>Fills defaults for a kind before the object is stored.</summary>
public static class Defaults
{
    /// <summary>Applies the defaults of <paramref name="r"/> to <paramref name="obj"/>.</summary>
    public static void Apply(ApiResource r, JsonObject obj, bool creating)
    {
        switch (r.Kind)
        {
            case "Namespace":
                if (creating)
                {
                    Obj(obj, "spec")["finalizers"] ??= new JsonArray("kubernetes");
                    obj["status"] = new JsonObject { ["phase"] = "Active" };
                }
                break;
            case "Secret":
                obj["type"] ??= "Opaque";
                if (obj["stringData"] is JsonObject sd)
                {
                    var data = Obj(obj, "data");
                    foreach (var (k, v) in sd)
                        data[k] = Convert.ToBase64String(Encoding.UTF8.GetBytes(v?.GetValue<string>() ?? ""));
                    obj.Remove("stringData");
                }
                break;
            case "Pod":
                if (creating)
                {
                    var status = Obj(obj, "status");
                    status["phase"] ??= "Pending";
                }
                PodSpec(Obj(obj, "spec"));
                break;
            case "Service":
                var svcSpec = Obj(obj, "spec");
                svcSpec["type"] ??= "ClusterIP";
                svcSpec["sessionAffinity"] ??= "None";
                break;
            case "Deployment" or "ReplicaSet" or "StatefulSet":
                Obj(obj, "spec")["replicas"] ??= 1;
                break;
            case "Job":
                BatchDefaults.ApplyJob(obj, creating);
                break;
            case "CronJob":
                BatchDefaults.ApplyCronJob(obj);
                break;
        }
    }

    /// <summary>The defaults of a pod spec, also of the pod templates inside workloads.</summary>
    internal static void PodSpec(JsonObject podSpec)
    {
        podSpec["restartPolicy"] ??= "Always";
        podSpec["schedulerName"] ??= "default-scheduler";
        podSpec["terminationGracePeriodSeconds"] ??= 30;
        podSpec["dnsPolicy"] ??= "ClusterFirst";
    }

    /// <summary>The object at <paramref name="field"/> of <paramref name="parent"/>, created when missing.</summary>
    internal static JsonObject Obj(JsonObject parent, string field)
    {
        if (parent[field] is JsonObject o) return o;
        o = new JsonObject();
        parent[field] = o;
        return o;
    }
}
