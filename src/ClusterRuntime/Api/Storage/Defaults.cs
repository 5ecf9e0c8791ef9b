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
                Service(obj, creating);
                break;
            case "Deployment" or "ReplicaSet" or "StatefulSet":
                Obj(obj, "spec")["replicas"] ??= 1;
                break;
        }
    }

    /// <summary>
    /// Service defaults as upstream's: type ClusterIP, sessionAffinity None, each port TCP with targetPort = port,
    /// internalTrafficPolicy Cluster (not for ExternalName), externalTrafficPolicy Cluster and
    /// allocateLoadBalancerNodePorts for the types that have them, and an empty load-balancer status.
    /// Addresses (clusterIP(s), ipFamilies, nodePorts) are the allocator's (Storage/Services).
    /// </summary>
    static void Service(JsonObject obj, bool creating)
    {
        var spec = Obj(obj, "spec");
        spec["type"] ??= "ClusterIP";
        spec["sessionAffinity"] ??= "None";
        var type = spec["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : "";
        if (spec["ports"] is JsonArray ports)
            foreach (var port in ports.OfType<JsonObject>())
            {
                port["protocol"] ??= "TCP";
                if (port["targetPort"] is null && port["port"] is { } number) port["targetPort"] = number.DeepClone();
            }
        if (type != "ExternalName") spec["internalTrafficPolicy"] ??= "Cluster";
        if (type is "NodePort" or "LoadBalancer") spec["externalTrafficPolicy"] ??= "Cluster";
        if (type == "LoadBalancer") spec["allocateLoadBalancerNodePorts"] ??= true;
        if (creating) Obj(Obj(obj, "status"), "loadBalancer");
    }

    static JsonObject Obj(JsonObject parent, string field)
    {
        if (parent[field] is JsonObject o) return o;
        o = new JsonObject();
        parent[field] = o;
        return o;
    }
}
