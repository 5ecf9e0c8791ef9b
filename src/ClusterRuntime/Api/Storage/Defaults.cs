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
        // A custom resource was defaulted by its schema when admitted (Validation.CheckTypes), whatever its kind is called.
        if (r.Custom is { } custom)
        {
            if (creating) custom.PrepareCreate(r, obj);
            return;
        }
        switch (r.Kind)
        {
            case "CustomResourceDefinition":
                CustomResources.CustomResourceDefinition.ApplyDefaults(obj, creating);
                break;
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
                Service(obj, creating);
                break;
            case "Deployment" or "ReplicaSet":
                DeploymentOrReplicaSet(r.Kind, obj);
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
            case "Job":
                BatchDefaults.ApplyJob(obj, creating);
                break;
            case "CronJob":
                BatchDefaults.ApplyCronJob(obj);
                break;
            case "NetworkPolicy":
                NetworkPolicyValidation.ApplyDefaults(obj);
                break;
        }
    }

    /// <summary>The taint of a node whose Ready condition is False.</summary>
    public const string NotReadyTaint = "node.kubernetes.io/not-ready";

    /// <summary>The taint of a node whose Ready condition is Unknown (its kubelet went silent).</summary>
    public const string UnreachableTaint = "node.kubernetes.io/unreachable";

    /// <summary>
    /// The DefaultTolerationSeconds admission plugin: a new pod that does not already tolerate the not-ready or the
    /// unreachable NoExecute taint (by key, or by an empty key, with effect NoExecute or empty) gets a toleration of it
    /// for <paramref name="seconds"/>, so pods leave a lost node after that long rather than at once.
    /// </summary>
    public static void AddDefaultTolerations(JsonObject pod, int seconds)
    {
        var spec = Obj(pod, "spec");
        if (spec["tolerations"] is not JsonArray tolerations) spec["tolerations"] = tolerations = [];
        bool notReady = false, unreachable = false;
        foreach (var t in tolerations.OfType<JsonObject>())
        {
            var key = t["key"]?.GetValue<string>() ?? "";
            var effect = t["effect"]?.GetValue<string>() ?? "";
            if (effect is not ("" or "NoExecute")) continue;
            notReady |= key is "" or NotReadyTaint;
            unreachable |= key is "" or UnreachableTaint;
        }
        if (!notReady) tolerations.Add((JsonNode)Toleration(NotReadyTaint, seconds));
        if (!unreachable) tolerations.Add((JsonNode)Toleration(UnreachableTaint, seconds));
    }

    static JsonObject Toleration(string key, int seconds) => new()
    {
        ["key"] = key,
        ["operator"] = "Exists",
        ["effect"] = "NoExecute",
        ["tolerationSeconds"] = seconds,
    };
    /// <summary>
    /// apps/v1 SetDefaults_Deployment and SetDefaults_ReplicaSet, and the pod template defaults kubectl shows
    /// (core/v1 SetDefaults_PodSpec and SetDefaults_Container). They apply on every write, as upstream defaults on
    /// decoding, so a template's hash does not change when a patch leaves a defaulted field out.
    /// </summary>
    static void DeploymentOrReplicaSet(string kind, JsonObject obj)
    {
        var spec = Obj(obj, "spec");
        spec["replicas"] ??= 1;
        if (kind == "Deployment")
        {
            var strategy = Obj(spec, "strategy");
            strategy["type"] ??= "RollingUpdate";
            if (strategy["type"] is JsonValue t && t.TryGetValue<string>(out var type) && type == "RollingUpdate")
            {
                var rolling = Obj(strategy, "rollingUpdate");
                rolling["maxUnavailable"] ??= "25%";
                rolling["maxSurge"] ??= "25%";
            }
            spec["revisionHistoryLimit"] ??= 10;
            spec["progressDeadlineSeconds"] ??= 600;
        }
        if (spec["template"] is JsonObject template) PodTemplate(template);
    }

    /// <summary>The defaults of a workload's pod template: the pod spec's, its containers' and ports'.</summary>
    internal static void PodTemplate(JsonObject template)
    {
        var podSpec = Obj(template, "spec");
        PodSpec(podSpec);
        podSpec["securityContext"] ??= new JsonObject();
        foreach (var list in new[] { "initContainers", "containers" })
        {
            if (podSpec[list] is not JsonArray containers) continue;
            foreach (var c in containers.OfType<JsonObject>())
            {
                c["resources"] ??= new JsonObject();
                c["terminationMessagePath"] ??= "/dev/termination-log";
                c["terminationMessagePolicy"] ??= "File";
                if (c["image"] is JsonValue i && i.TryGetValue<string>(out var image)) c["imagePullPolicy"] ??= PullPolicy(image);
                if (c["ports"] is JsonArray ports)
                    foreach (var port in ports.OfType<JsonObject>()) port["protocol"] ??= "TCP";
            }
        }
    }

    /// <summary>Always for an image without a tag or tagged <c>latest</c>, else IfNotPresent (core/v1 SetDefaults_Container).</summary>
    static string PullPolicy(string image)
    {
        if (image.Contains('@')) return "IfNotPresent";
        var last = image[(image.LastIndexOf('/') + 1)..];
        var colon = last.LastIndexOf(':');
        return colon < 0 || last[(colon + 1)..] == "latest" ? "Always" : "IfNotPresent";
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
