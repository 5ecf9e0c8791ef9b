// The authorization chain every request passes after authentication: join token, system:masters, Node, RBAC.
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Auth.Node;
using Appliance.ClusterRuntime.Auth.Rbac;

namespace Appliance.ClusterRuntime.Auth;

/// <summary>
/// Decides every request as kube-apiserver with <c>--authorization-mode=Node,RBAC</c>: members of
/// <c>system:masters</c> may do anything (upstream's privileged-group authorizer, so the admin never depends on the
/// policy objects), then the <see cref="NodeAuthorizer"/>, then <see cref="RbacAuthorizer"/>; the first to allow
/// wins, and a refusal is a 403 worded as upstream's. Before all of them, the node join token's user
/// (<see cref="JoinUser"/> in <see cref="Bootstrappers"/>) is held to discovery: joining needs only the CA bundle,
/// discovery and the node certificate endpoints (<c>Api/Join</c>).
/// </summary>
public sealed class Authorizer(RbacAuthorizer rbac, NodeAuthorizer nodes)
{
    /// <summary>The user the join token's secret authenticates as.</summary>
    public const string JoinUser = "system:bootstrap:node-join";

    /// <summary>The group of join-token users.</summary>
    public const string Bootstrappers = "system:bootstrappers";

    /// <summary>The RBAC authorizer (for rules reviews and escalation checks).</summary>
    public RbacAuthorizer Rbac => rbac;

    /// <summary>The node authorizer (for NodeRestriction).</summary>
    public NodeAuthorizer Nodes => nodes;

    /// <summary>Completes once the caches the decisions read have their first lists.</summary>
    public Task Synced => Task.WhenAll(rbac.Synced, nodes.Synced);

    /// <summary>Follows the datastore until <paramref name="ct"/> is cancelled.</summary>
    public Task RunAsync(CancellationToken ct) => Task.WhenAll(rbac.RunAsync(ct), nodes.RunAsync(ct));

    /// <summary>True when <paramref name="user"/> is held to discovery only.</summary>
    public static bool IsJoinOnly(UserInfo user) => user.Groups.Contains(Bootstrappers);

    /// <summary>The message of the 403 a join-token user gets for anything beyond discovery.</summary>
    public static string Refusal(UserInfo user, string method, string path) =>
        $"forbidden: User \"{user.Name}\" cannot {method.ToLowerInvariant()} path \"{path}\": the node join token may only fetch the CA bundle, read discovery and request node certificates";

    /// <summary>The decision on <paramref name="a"/>.</summary>
    public Decision Authorize(RequestAttributes a)
    {
        if (a.User.Groups.Contains(BootstrapPolicy.Masters)) return Decision.Allow;
        var byNode = nodes.Authorize(a);
        if (byNode.Allowed) return byNode;
        if (rbac.Allows(a)) return Decision.Allow;
        return byNode;
    }

    /// <summary>Throws the 403 upstream sends when <paramref name="a"/> is not allowed.</summary>
    /// <exception cref="ApiException">403 Forbidden.</exception>
    public async ValueTask CheckAsync(RequestAttributes a)
    {
        if (IsJoinOnly(a.User))
        {
            if (a.IsResourceRequest || a.Verb != "get" || !IsDiscovery(a.Path)) throw new ApiException(403, "Forbidden", Refusal(a.User, a.Verb, a.Path));
            return;
        }
        if (!Synced.IsCompleted) await Synced;
        var d = Authorize(a);
        if (!d.Allowed) throw Forbidden(a, d.Reason);
    }

    static bool IsDiscovery(string path) =>
        path is "/api" or "/apis" or "/api/" or "/apis/" or "/openapi/v2" or "/openapi/v3"
        || path.StartsWith("/api/", StringComparison.Ordinal) || path.StartsWith("/apis/", StringComparison.Ordinal) || path.StartsWith("/openapi/", StringComparison.Ordinal);

    /// <summary>
    /// The 403 as upstream words it: <c>pods is forbidden: User "u" cannot list resource "pods" in API group "" in the
    /// namespace "ns"</c>; <c>pods "p" is forbidden: ...</c> for a named object; <c>... at the cluster scope</c> without
    /// a namespace; <c>forbidden: User "u" cannot get path "/x"</c> for a non-resource request; then <c>: reason</c>.
    /// </summary>
    public static ApiException Forbidden(RequestAttributes a, string reason)
    {
        string what;
        if (!a.IsResourceRequest) what = $"User \"{a.User.Name}\" cannot {a.Verb} path \"{a.Path}\"";
        else if (a.Namespace.Length > 0) what = $"User \"{a.User.Name}\" cannot {a.Verb} resource \"{a.CombinedResource}\" in API group \"{a.ApiGroup}\" in the namespace \"{a.Namespace}\"";
        else what = $"User \"{a.User.Name}\" cannot {a.Verb} resource \"{a.CombinedResource}\" in API group \"{a.ApiGroup}\" at the cluster scope";
        if (reason.Length > 0) what += ": " + reason;
        if (!a.IsResourceRequest) return new ApiException(403, "Forbidden", "forbidden: " + what);
        var gr = a.ApiGroup.Length == 0 ? a.Resource : $"{a.Resource}.{a.ApiGroup}";
        var message = a.Name.Length == 0 ? $"{gr} is forbidden: {what}" : $"{gr} \"{a.Name}\" is forbidden: {what}";
        var details = new System.Text.Json.Nodes.JsonObject { ["kind"] = a.Resource };
        if (a.Name.Length > 0) details["name"] = a.Name;
        if (a.ApiGroup.Length > 0) details["group"] = a.ApiGroup;
        return new ApiException(403, "Forbidden", message, details);
    }
}
