// The pods of a DaemonSet: which node each is meant for, which nodes should run one, and the pod to create.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.History;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Scheduler;
using Appliance.ClusterRuntime.Controllers.Workloads;

namespace Appliance.ClusterRuntime.Controllers.DaemonSet;

/// <summary>Upstream's <c>daemon/util</c> and <c>NodeShouldRunDaemonPod</c>.</summary>
public static class DaemonPods
{
    /// <summary>The label holding the DaemonSet's template generation (set when the DaemonSet carries the annotation below).</summary>
    public const string TemplateGenerationLabel = "pod-template-generation";

    /// <summary>kube-apiserver's record of a DaemonSet's template generation.</summary>
    public const string TemplateGenerationAnnotation = "deprecated.daemonset.template.generation";

    static readonly (string Key, string Effect)[] AlwaysTolerated =
    [
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];

    /// <summary>
    /// The template's tolerations plus those every daemon pod gets (<c>AddOrUpdateDaemonPodTolerations</c>): the
    /// not-ready and unreachable NoExecute taints without a time limit, the pressure and unschedulable NoSchedule
    /// taints, and for host-network pods network-unavailable. A template toleration with the same key, operator,
    /// value and effect is replaced by the automatic one.
    /// </summary>
    public static JsonArray Tolerations(JsonObject? podSpec)
    {
        var result = new JsonArray();
        foreach (var t in Obj.Items(podSpec, "tolerations")) result.Add(t.DeepClone());
        var automatic = AlwaysTolerated.ToList();
        if (Obj.Bool(podSpec, "hostNetwork") == true) automatic.Add(("node.kubernetes.io/network-unavailable", "NoSchedule"));
        foreach (var (key, effect) in automatic)
        {
            var toleration = new JsonObject { ["key"] = key, ["operator"] = "Exists", ["effect"] = effect };
            var same = result.OfType<JsonObject>().FirstOrDefault(t => Obj.Str(t, "key") == key && Obj.Str(t, "operator") == "Exists"
                && (Obj.Str(t, "value") ?? "") == "" && Obj.Str(t, "effect") == effect);
            if (same is not null) result[result.IndexOf(same)] = toleration;
            else result.Add((JsonNode)toleration);
        }
        return result;
    }

    /// <summary>
    /// Whether a daemon pod should be started on <paramref name="node"/>, and whether one already there may stay:
    /// the template's nodeName, nodeSelector and required node affinity must match; a NoSchedule or NoExecute taint
    /// the pod does not tolerate stops new pods, and only an untolerated NoExecute taint evicts running ones.
    /// </summary>
    public static (bool ShouldRun, bool ShouldContinueRunning) Fit(JsonObject node, JsonObject ds)
    {
        var spec = Obj.Object(ds, "spec", "template", "spec");
        var nodeName = Obj.Str(spec, "nodeName");
        if (!string.IsNullOrEmpty(nodeName) && nodeName != Meta.Name(node)) return (false, false);
        if (!NodeAffinity.Matches(spec, node)) return (false, false);
        var tolerations = Tolerations(spec).OfType<JsonObject>().ToList();
        var untolerated = Taint.Of(node).Where(t => !t.ToleratedBy(tolerations)).ToList();
        if (!untolerated.Any(t => t.Effect is "NoSchedule" or "NoExecute")) return (true, true);
        return (false, !untolerated.Any(t => t.Effect == "NoExecute"));
    }

    /// <summary>
    /// The node a daemon pod is meant for: its <c>spec.nodeName</c>, or before binding the one its node affinity
    /// names (<c>matchFields metadata.name In [NODE]</c>); null when neither says.
    /// </summary>
    public static string? TargetNode(JsonObject pod)
    {
        if (Obj.Str(pod, "spec", "nodeName") is { Length: > 0 } bound) return bound;
        foreach (var term in Obj.Items(pod, "spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"))
            foreach (var field in Obj.Items(term, "matchFields"))
                if (Obj.Str(field, "key") == "metadata.name" && Obj.Str(field, "operator") == "In"
                    && Obj.At(field, "values") is JsonArray { Count: 1 } values && (values[0] as JsonValue)?.ToString() is { } name)
                    return name;
        return null;
    }

    /// <summary>True when the pod runs the revision <paramref name="hash"/> (or, by the older mark, the DaemonSet's template generation).</summary>
    public static bool IsUpdated(JsonObject pod, JsonObject ds, string hash)
    {
        if (hash.Length > 0 && Meta.Label(pod, ControllerHistory.PodRevisionLabel) == hash) return true;
        return Obj.Str(ds, "metadata", "annotations", TemplateGenerationAnnotation) is { } gen && Meta.Label(pod, TemplateGenerationLabel) == gen;
    }

    /// <summary>
    /// The pod to create for <paramref name="node"/>: the template with the revision labels, the daemon
    /// tolerations, and required node affinity replaced by <c>matchFields metadata.name In [NODE]</c> (as upstream since
    /// 1.12, so the default scheduler binds it); named <c>DS-</c> plus a random suffix.
    /// </summary>
    public static JsonObject NewPod(JsonObject ds, ApiResource dsResource, string node, string hash)
    {
        var template = Obj.Object(ds, "spec", "template");
        var labels = Obj.Object(template, "metadata", "labels") is { } l ? (JsonObject)l.DeepClone() : new JsonObject();
        if (Obj.Str(ds, "metadata", "annotations", TemplateGenerationAnnotation) is { } generation) labels[TemplateGenerationLabel] = generation;
        labels[ControllerHistory.PodRevisionLabel] = hash;
        var metadata = new JsonObject
        {
            ["generateName"] = Meta.Name(ds) + "-",
            ["namespace"] = Meta.Namespace(ds),
            ["labels"] = labels,
            ["ownerReferences"] = new JsonArray(Obj.OwnerRef(ds, dsResource)),
        };
        if (Obj.Object(template, "metadata", "annotations") is { } annotations) metadata["annotations"] = annotations.DeepClone();
        var spec = Obj.Object(template, "spec") is { } s ? (JsonObject)s.DeepClone() : new JsonObject();
        spec["tolerations"] = Tolerations(spec);
        var nodeAffinity = Obj.Ensure(spec, "affinity", "nodeAffinity");
        nodeAffinity["requiredDuringSchedulingIgnoredDuringExecution"] = new JsonObject
        {
            ["nodeSelectorTerms"] = new JsonArray(new JsonObject
            {
                ["matchFields"] = new JsonArray(new JsonObject { ["key"] = "metadata.name", ["operator"] = "In", ["values"] = new JsonArray(node) }),
            }),
        };
        return new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = metadata, ["spec"] = spec };
    }
}
