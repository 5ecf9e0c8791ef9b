// Until RBAC exists: what a join token may do (discovery and the join endpoints); every other authenticated user, nodes included, may do everything.
namespace Appliance.ClusterRuntime.Auth;

/// <summary>
/// The interim authorization rule. The node join token's secret authenticates as <see cref="JoinUser"/> in group
/// <see cref="Bootstrappers"/> (the group upstream gives bootstrap tokens). Joining needs only the CA bundle
/// (<c>/cacerts</c>, public), API discovery and the node certificate endpoints (<c>Api/Join</c>), so members of the
/// group may use those and nothing else. A joined node authenticates as <c>system:node:NAME</c> in <c>system:nodes</c>
/// and, like every other certificate user until RBAC and NodeRestriction exist, may do what a kubelet must (its Node
/// and Lease, pods and their status, events, Services and the <c>kubernetes</c> Endpoints) and more.
/// </summary>
public static class Authorizer
{
    /// <summary>The user the join token's secret authenticates as.</summary>
    public const string JoinUser = "system:bootstrap:node-join";

    /// <summary>The group of join-token users.</summary>
    public const string Bootstrappers = "system:bootstrappers";

    /// <summary>True when <paramref name="user"/> is held to discovery only.</summary>
    public static bool IsJoinOnly(UserInfo user) => user.Groups.Contains(Bootstrappers);

    /// <summary>The message of the 403 a join-token user gets for anything beyond discovery.</summary>
    public static string Refusal(UserInfo user, string method, string path) =>
        $"forbidden: User \"{user.Name}\" cannot {method.ToLowerInvariant()} path \"{path}\": the node join token may only fetch the CA bundle, read discovery and request node certificates";
}
