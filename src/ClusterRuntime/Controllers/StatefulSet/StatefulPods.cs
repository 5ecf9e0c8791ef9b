// The identity of a StatefulSet's pods: NAME-ORDINAL, identity labels, hostname/subdomain, and their claims.
using System.Globalization;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.History;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.StatefulSet;

/// <summary>Upstream's <c>stateful_set_utils</c>: pod names, identity, storage and claim names.</summary>
public static class StatefulPods
{
    /// <summary>The label holding the pod's own name.</summary>
    public const string PodNameLabel = "statefulset.kubernetes.io/pod-name";

    /// <summary>The label holding the pod's ordinal.</summary>
    public const string PodIndexLabel = "apps.kubernetes.io/pod-index";

    /// <summary><c>spec.ordinals.start</c> (0 when unset).</summary>
    public static int StartOrdinal(JsonObject set) => Math.Max(0, Obj.Int(set, 0, "spec", "ordinals", "start"));

    /// <summary><c>spec.replicas</c> (1 when unset).</summary>
    public static int Replicas(JsonObject set) => Math.Max(0, Obj.Int(set, 1, "spec", "replicas"));

    /// <summary>The ordinal of a pod named <c>SET-N</c> of <paramref name="set"/>, or -1.</summary>
    public static int Ordinal(JsonObject set, JsonObject pod)
    {
        var name = Meta.Name(pod) ?? "";
        var prefix = Meta.Name(set) + "-";
        return name.StartsWith(prefix, StringComparison.Ordinal)
            && int.TryParse(name.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            && n.ToString(CultureInfo.InvariantCulture) == name[prefix.Length..] ? n : -1;
    }

    /// <summary>The pod name of <paramref name="ordinal"/>.</summary>
    public static string PodName(JsonObject set, int ordinal) => $"{Meta.Name(set)}-{ordinal}";

    /// <summary>The revision a pod was made from (its <c>controller-revision-hash</c> label: a revision name).</summary>
    public static string Revision(JsonObject pod) => Meta.Label(pod, ControllerHistory.PodRevisionLabel) ?? "";

    /// <summary>Claim name of one volumeClaimTemplate for one pod: <c>TEMPLATE-SET-ORDINAL</c>.</summary>
    public static string ClaimName(JsonObject claimTemplate, string podName) => $"{Meta.Name(claimTemplate)}-{podName}";

    /// <summary>
    /// The pod of <paramref name="ordinal"/> made from <paramref name="template"/> (the template of the revision it
    /// belongs to): controller reference, identity labels, the revision label, hostname and subdomain, and a volume
    /// per volumeClaimTemplate pointing at its claim (replacing a template volume of the same name).
    /// </summary>
    public static JsonObject NewPod(JsonObject set, ApiResource setResource, JsonObject template, int ordinal, string revision)
    {
        var name = PodName(set, ordinal);
        var labels = Obj.Object(template, "metadata", "labels") is { } l ? (JsonObject)l.DeepClone() : new JsonObject();
        labels[ControllerHistory.PodRevisionLabel] = revision;
        var metadata = new JsonObject
        {
            ["name"] = name,
            ["namespace"] = Meta.Namespace(set),
            ["labels"] = labels,
            ["ownerReferences"] = new JsonArray(Obj.OwnerRef(set, setResource)),
        };
        if (Obj.Object(template, "metadata", "annotations") is { } annotations) metadata["annotations"] = annotations.DeepClone();
        var pod = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = metadata,
            ["spec"] = Obj.Object(template, "spec") is { } s ? s.DeepClone() : new JsonObject(),
        };
        SetIdentity(set, pod, ordinal);
        SetStorage(set, (JsonObject)pod["spec"]!, name);
        return pod;
    }

    /// <summary>Upstream's <c>identityMatches</c> plus the pod-index label and hostname/subdomain.</summary>
    public static bool IdentityMatches(JsonObject set, JsonObject pod, int ordinal) =>
        Meta.Label(pod, PodNameLabel) == Meta.Name(pod)
        && Meta.Label(pod, PodIndexLabel) == ordinal.ToString(CultureInfo.InvariantCulture)
        && Obj.Str(pod, "spec", "hostname") == Meta.Name(pod)
        && (Obj.Str(pod, "spec", "subdomain") ?? "") == (Obj.Str(set, "spec", "serviceName") ?? "");

    /// <summary>Sets the identity labels, <c>spec.hostname</c> and <c>spec.subdomain</c> (serviceName).</summary>
    public static void SetIdentity(JsonObject set, JsonObject pod, int ordinal)
    {
        var name = Meta.Name(pod)!;
        var labels = Obj.Ensure(pod, "metadata", "labels");
        labels[PodNameLabel] = name;
        labels[PodIndexLabel] = ordinal.ToString(CultureInfo.InvariantCulture);
        var spec = Obj.Ensure(pod, "spec");
        spec["hostname"] = name;
        if (Obj.Str(set, "spec", "serviceName") is { Length: > 0 } service) spec["subdomain"] = service;
        else spec.Remove("subdomain");
    }

    static void SetStorage(JsonObject set, JsonObject spec, string podName)
    {
        var claims = Obj.Items(set, "spec", "volumeClaimTemplates").ToList();
        if (claims.Count == 0) return;
        var volumes = new JsonArray();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var claim in claims)
        {
            var volume = Meta.Name(claim) ?? "";
            names.Add(volume);
            volumes.Add((JsonNode)new JsonObject
            {
                ["name"] = volume,
                ["persistentVolumeClaim"] = new JsonObject { ["claimName"] = ClaimName(claim, podName) },
            });
        }
        foreach (var v in Obj.Items(spec, "volumes"))
            if (!names.Contains(Obj.Str(v, "name") ?? "")) volumes.Add(v.DeepClone());
        spec["volumes"] = volumes;
    }

    /// <summary>
    /// The claims the pod needs, one per volumeClaimTemplate: the template's metadata and spec, labelled also with
    /// the set's <c>matchLabels</c>, owned by the set when <c>whenDeleted: Delete</c> (not as controller, as upstream).
    /// </summary>
    public static IEnumerable<JsonObject> Claims(JsonObject set, ApiResource setResource, string podName)
    {
        foreach (var template in Obj.Items(set, "spec", "volumeClaimTemplates"))
        {
            var labels = Obj.Object(template, "metadata", "labels") is { } l ? (JsonObject)l.DeepClone() : new JsonObject();
            if (Obj.Object(set, "spec", "selector", "matchLabels") is { } match)
                foreach (var (k, v) in match) labels[k] = v?.DeepClone();
            var metadata = new JsonObject { ["name"] = ClaimName(template, podName), ["namespace"] = Meta.Namespace(set), ["labels"] = labels };
            if (Obj.Object(template, "metadata", "annotations") is { } annotations) metadata["annotations"] = annotations.DeepClone();
            if (Obj.Str(set, "spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted") == "Delete")
                metadata["ownerReferences"] = new JsonArray(NonControllerRef(set, setResource));
            yield return new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "PersistentVolumeClaim",
                ["metadata"] = metadata,
                ["spec"] = Obj.Object(template, "spec")?.DeepClone() ?? new JsonObject(),
            };
        }
    }

    /// <summary>An owner reference that does not make the owner the controller.</summary>
    public static JsonObject NonControllerRef(JsonObject owner, ApiResource ownerResource) => new()
    {
        ["apiVersion"] = ownerResource.ApiVersion,
        ["kind"] = ownerResource.Kind,
        ["name"] = Meta.Name(owner),
        ["uid"] = Obj.Uid(owner),
    };
}
