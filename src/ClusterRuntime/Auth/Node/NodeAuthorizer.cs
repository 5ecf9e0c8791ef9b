// The node authorizer: what a kubelet identity (system:node:NAME in system:nodes) may do, as upstream's Node mode.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Datastore;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Auth.Node;

/// <summary>
/// As upstream's node authorizer: Secrets, ConfigMaps and PersistentVolumeClaims may be read (get, or a list/watch of
/// one name) only when a pod bound to the node uses them, a ServiceAccount token may be requested only for the
/// ServiceAccount of such a pod, and the only Lease is the node's own in <c>kube-node-lease</c>. Everything else is
/// decided by the static <see cref="Rbac.BootstrapPolicy.NodeRules"/>; <see cref="NodeRestriction"/> then holds
/// writes of Nodes, pods and Leases to the node's own. For other users it has no opinion.
/// </summary>
public sealed class NodeAuthorizer
{
    /// <summary>The user name prefix of node identities.</summary>
    public const string UserPrefix = "system:node:";

    readonly Informer _pods;

    /// <summary>A pod informer over <paramref name="backend"/>, indexed by node; <see cref="RunAsync"/> starts it.</summary>
    public NodeAuthorizer(IBackend backend, ILogger logger)
    {
        _pods = new Informer(backend, Obj.Resource("", "pods"), logger);
        _pods.AddIndex(SharedInformers.ByNode, o => [Obj.Str(o, "spec", "nodeName") ?? ""]);
    }

    /// <summary>Completes once the pod cache has its first list.</summary>
    public Task Synced => _pods.Synced;

    /// <summary>Follows the pods until <paramref name="ct"/> is cancelled.</summary>
    public Task RunAsync(CancellationToken ct) => _pods.RunAsync(ct);

    /// <summary>The node name of a node identity, or null for any other user.</summary>
    public static string? NodeName(UserInfo user) =>
        user.Name.StartsWith(UserPrefix, StringComparison.Ordinal) && user.Name.Length > UserPrefix.Length
        && user.Groups.Contains(Rbac.BootstrapPolicy.Nodes) ? user.Name[UserPrefix.Length..] : null;

    /// <summary>The pods bound to <paramref name="node"/>.</summary>
    public List<JsonObject> PodsOn(string node) => _pods.ByIndex(SharedInformers.ByNode, node);

    /// <summary>The pod <paramref name="ns"/>/<paramref name="name"/> in the cache, or null.</summary>
    public JsonObject? Pod(string ns, string name) => _pods.Get(ns, name);

    /// <summary>Allowed, or no opinion with the reason upstream gives.</summary>
    public Decision Authorize(RequestAttributes a)
    {
        if (NodeName(a.User) is not { } node || !a.IsResourceRequest) return Decision.NoOpinion("");
        if (a.ApiGroup.Length == 0)
            switch (a.Resource)
            {
                case "secrets" or "configmaps" or "persistentvolumeclaims" when a.Subresource.Length == 0:
                    return ReadRelated(node, a);
                case "serviceaccounts" when a.Subresource == "token":
                    if (a.Verb != "create") return Decision.NoOpinion($"can only create tokens for individual service accounts");
                    return Related(node, a) ? Decision.Allow : NoRelationship(node);
            }
        if (a.ApiGroup == "coordination.k8s.io" && a.Resource == "leases")
        {
            if (a.Namespace != "kube-node-lease") return Decision.NoOpinion("can only access leases in the kube-node-lease namespace");
            if (a.Verb is not ("get" or "create" or "update" or "patch" or "delete")) return Decision.NoOpinion($"can only get, create, update, patch, or delete a node lease");
            // A create names its Lease in the body; NodeRestriction checks that name.
            if (a.Verb != "create" && a.Name != node) return Decision.NoOpinion("can only access node lease with the same name as the requesting node");
            return Decision.Allow;
        }
        return Rbac.BootstrapPolicy.NodeRules.Any(r => r.Allows(a)) ? Decision.Allow : Decision.NoOpinion("");
    }

    Decision ReadRelated(string node, RequestAttributes a)
    {
        if (a.Verb is not ("get" or "list" or "watch")) return Decision.NoOpinion($"can only read {a.Resource}");
        if (a.Name.Length == 0) return Decision.NoOpinion($"can only read individual {a.Resource}");
        return Related(node, a) ? Decision.Allow : NoRelationship(node);
    }

    bool Related(string node, RequestAttributes a) =>
        a.Namespace.Length > 0 && PodsOn(node).Any(p => Api.Storage.Meta.Namespace(p) == a.Namespace && PodReferences.Uses(p, a.Resource, a.Name));

    static Decision NoRelationship(string node) => Decision.NoOpinion($"no relationship found between node '{node}' and this object");
}
