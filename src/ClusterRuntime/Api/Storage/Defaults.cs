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
                var podSpec = Obj(obj, "spec");
                podSpec["restartPolicy"] ??= "Always";
                podSpec["schedulerName"] ??= "default-scheduler";
                podSpec["terminationGracePeriodSeconds"] ??= 30;
                podSpec["dnsPolicy"] ??= "ClusterFirst";
                break;
            case "Service":
                var svcSpec = Obj(obj, "spec");
                svcSpec["type"] ??= "ClusterIP";
                svcSpec["sessionAffinity"] ??= "None";
                break;
            case "Deployment" or "ReplicaSet":
                Obj(obj, "spec")["replicas"] ??= 1;
                break;
            case "DaemonSet":
                WorkloadDefaults.DaemonSet(Obj(obj, "spec"));
                break;
            case "StatefulSet":
                WorkloadDefaults.StatefulSet(Obj(obj, "spec"));
                break;
            case "PersistentVolumeClaim":
                Obj(obj, "spec")["volumeMode"] ??= "Filesystem";
                if (creating) Obj(obj, "status")["phase"] ??= "Pending";
                break;
        }
    }

    static JsonObject Obj(JsonObject parent, string field)
    {
        if (parent[field] is JsonObject o) return o;
        o = new JsonObject();
        parent[field] = o;
        return o;
    }
}
