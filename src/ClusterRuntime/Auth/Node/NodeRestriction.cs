// NodeRestriction admission: a node writes only its own Node and Lease, and only the pods bound to it.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Auth.Node;

/// <summary>
/// Upstream's NodeRestriction rules for the types this server serves. A node identity may create, update and delete
/// only its own Node; it may not set labels under <c>node-restriction.kubernetes.io/</c> nor, outside the kubelet's
/// own set (hostname, os, arch, instance type, zone, region), labels under <c>kubernetes.io/</c> or <c>k8s.io/</c> (so
/// no <c>node-role.kubernetes.io/*</c>), and may not change its taints once registered. It may update the status of
/// and delete only pods bound to it, create only mirror pods bound to it, and create only its own Lease.
/// </summary>
public static class NodeRestriction
{
    /// <summary>The annotation of a mirror pod (a static pod's API copy).</summary>
    public const string MirrorAnnotation = "kubernetes.io/config.mirror";

    static readonly string[] KubeletLabels =
    [
        "kubernetes.io/hostname", "kubernetes.io/instance-type", "kubernetes.io/os", "kubernetes.io/arch",
        "beta.kubernetes.io/instance-type", "beta.kubernetes.io/os", "beta.kubernetes.io/arch",
        "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
        "topology.kubernetes.io/zone", "topology.kubernetes.io/region", "node.kubernetes.io/instance-type",
    ];

    static readonly string[] KubeletLabelNamespaces = ["kubelet.kubernetes.io", "node.kubernetes.io"];

    /// <summary>
    /// The check that needs only the stored object: which Node, and whether a pod whose status is written or which is
    /// deleted is bound to the node. <paramref name="storedPod"/> is the pod as stored (null when absent or not a pod).
    /// </summary>
    public static void CheckTarget(string node, RequestAttributes a, JsonObject? storedPod)
    {
        if (a.ApiGroup.Length != 0) return;
        if (a.Resource == "nodes" && a.Name.Length > 0 && a.Name != node && a.Verb is "update" or "patch" or "delete")
            throw Refuse(a, $"node \"{node}\" is not allowed to modify node \"{a.Name}\"");
        if (a.Resource != "pods" || storedPod is null) return;
        var boundTo = Obj.Str(storedPod, "spec", "nodeName") ?? "";
        if (a.Subresource == "status" && a.Verb is "update" or "patch" && boundTo != node)
            throw Refuse(a, $"node \"{node}\" can only update pod status for pods with spec.nodeName set to itself");
        if (a.Subresource.Length == 0 && a.Verb == "delete" && boundTo != node)
            throw Refuse(a, $"node \"{node}\" can only delete pods with spec.nodeName set to itself");
        if (a.Subresource == "eviction" && boundTo != node)
            throw Refuse(a, $"node \"{node}\" can only evict pods with spec.nodeName set to itself");
    }

    /// <summary>The check of a written object: <paramref name="next"/> replaces <paramref name="current"/> (null on create).</summary>
    public static void CheckWrite(string node, RequestAttributes a, JsonObject next, JsonObject? current)
    {
        // A create names its object in the body, and upstream's admission names it in the message.
        a = a with { Name = Meta.Name(next) ?? a.Name };
        switch (a.ApiGroup, a.Resource)
        {
            case ("", "nodes"):
                var name = Meta.Name(next) ?? "";
                if (name != node) throw Refuse(a, $"node \"{node}\" is not allowed to modify node \"{name}\"");
                var forbidden = ForbiddenLabels(Labels(next), current is null ? null : Labels(current));
                if (forbidden.Count > 0)
                    throw Refuse(a, current is null
                        ? $"node \"{node}\" is not allowed to set the following labels: {string.Join(", ", forbidden)}"
                        : $"is not allowed to modify labels: {string.Join(", ", forbidden)}");
                if (current is not null && !JsonNode.DeepEquals(Taints(next), Taints(current)))
                    throw Refuse(a, $"node \"{node}\" is not allowed to modify taints");
                break;
            case ("", "pods") when current is null && a.Subresource.Length == 0:
                if (Obj.Str(next, "metadata", "annotations", MirrorAnnotation) is null)
                    throw Refuse(a, $"pod does not have \"{MirrorAnnotation}\" annotation, node \"{node}\" can only create mirror pods");
                if (Obj.Str(next, "spec", "nodeName") != node)
                    throw Refuse(a, $"node \"{node}\" can only create pods with spec.nodeName set to itself");
                break;
            case ("coordination.k8s.io", "leases"):
                if (Meta.Name(next) != node) throw Refuse(a, "can only access node lease with the same name as the requesting node");
                break;
        }
    }

    /// <summary>The taints, with absent and empty alike (upstream's semantic equality treats a nil and an empty list as equal).</summary>
    static JsonNode Taints(JsonObject node) => Obj.At(node, "spec", "taints") is JsonArray { Count: > 0 } a ? a : new JsonArray();

    static Dictionary<string, string> Labels(JsonObject o) =>
        Obj.Object(o, "metadata", "labels") is { } l ? l.ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? "") : [];

    /// <summary>Labels added, changed or removed that a node may not touch, sorted.</summary>
    static List<string> ForbiddenLabels(Dictionary<string, string> next, Dictionary<string, string>? old)
    {
        var modified = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (k, v) in next) if (old is null || !old.TryGetValue(k, out var was) || was != v) modified.Add(k);
        if (old is not null) foreach (var k in old.Keys) if (!next.ContainsKey(k)) modified.Add(k);
        return [.. modified.Where(Forbidden)];
    }

    static bool Forbidden(string label)
    {
        var slash = label.IndexOf('/');
        if (slash < 0) return false;
        var ns = label[..slash];
        if (ns == "node-restriction.kubernetes.io" || ns.EndsWith(".node-restriction.kubernetes.io", StringComparison.Ordinal)) return true;
        bool kubernetes = ns is "kubernetes.io" or "k8s.io" || ns.EndsWith(".kubernetes.io", StringComparison.Ordinal) || ns.EndsWith(".k8s.io", StringComparison.Ordinal);
        if (!kubernetes) return false;
        return !KubeletLabels.Contains(label) && !KubeletLabelNamespaces.Any(k => ns == k || ns.EndsWith("." + k, StringComparison.Ordinal));
    }

    static ApiException Refuse(RequestAttributes a, string why)
    {
        var gr = a.ApiGroup.Length == 0 ? a.Resource : $"{a.Resource}.{a.ApiGroup}";
        return new ApiException(403, "Forbidden", a.Name.Length > 0 ? $"{gr} \"{a.Name}\" is forbidden: {why}" : $"{gr} is forbidden: {why}");
    }
}
