// The RBAC authorizer: allows a request when a binding of the user, one of its groups or its service account grants it.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Datastore;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Auth.Rbac;

/// <summary>
/// As upstream's RBAC authorizer: ClusterRoleBindings grant their ClusterRole everywhere; RoleBindings grant their
/// Role or ClusterRole inside their own namespace. It reads the four types from informers (a local cache following
/// the datastore's watch), so a new binding takes effect within the watch's delay, as upstream's does; it never
/// denies, it only allows or has no opinion.
/// </summary>
public sealed class RbacAuthorizer
{
    /// <summary>The RBAC resources.</summary>
    public static readonly ApiResource Roles = Rbac("roles"), ClusterRoles = Rbac("clusterroles"),
        RoleBindings = Rbac("rolebindings"), ClusterRoleBindings = Rbac("clusterrolebindings");

    static ApiResource Rbac(string plural) => ResourceTable.Find(Group, "v1", plural)!;

    /// <summary>The API group.</summary>
    public const string Group = "rbac.authorization.k8s.io";

    readonly Informer _roles, _clusterRoles, _roleBindings, _clusterRoleBindings;

    /// <summary>Informers over <paramref name="backend"/>; <see cref="RunAsync"/> starts them.</summary>
    public RbacAuthorizer(IBackend backend, ILogger logger)
    {
        _roles = new Informer(backend, Roles, logger);
        _clusterRoles = new Informer(backend, ClusterRoles, logger);
        _roleBindings = new Informer(backend, RoleBindings, logger);
        _clusterRoleBindings = new Informer(backend, ClusterRoleBindings, logger);
        _roleBindings.AddIndex(SharedInformers.ByNamespace, o => [Meta.Namespace(o) ?? ""]);
    }

    /// <summary>Completes once every cache has its first list.</summary>
    public Task Synced => Task.WhenAll(_roles.Synced, _clusterRoles.Synced, _roleBindings.Synced, _clusterRoleBindings.Synced);

    /// <summary>Follows the datastore until <paramref name="ct"/> is cancelled.</summary>
    public Task RunAsync(CancellationToken ct) =>
        Task.WhenAll(_roles.RunAsync(ct), _clusterRoles.RunAsync(ct), _roleBindings.RunAsync(ct), _clusterRoleBindings.RunAsync(ct));

    /// <summary>True when some binding grants <paramref name="a"/>.</summary>
    public bool Allows(RequestAttributes a) => RulesFor(a.User, a.Namespace).Any(r => r.Allows(a));

    /// <summary>
    /// Every rule <paramref name="user"/> holds in <paramref name="ns"/> ("" for cluster scope: ClusterRoleBindings
    /// only), lazily, cluster-wide first.
    /// </summary>
    public IEnumerable<PolicyRule> RulesFor(UserInfo user, string ns)
    {
        foreach (var binding in _clusterRoleBindings.List())
            if (Binds(binding, user, null) && RoleRefKind(binding) == "ClusterRole")
                foreach (var rule in PolicyRule.RulesOf(_clusterRoles.Get(null, RoleRefName(binding)))) yield return rule;
        if (ns.Length == 0) yield break;
        foreach (var binding in _roleBindings.ByIndex(SharedInformers.ByNamespace, ns))
        {
            if (!Binds(binding, user, ns)) continue;
            var role = RoleRefKind(binding) switch
            {
                "ClusterRole" => _clusterRoles.Get(null, RoleRefName(binding)),
                "Role" => _roles.Get(ns, RoleRefName(binding)),
                _ => null,
            };
            foreach (var rule in PolicyRule.RulesOf(role)) yield return rule;
        }
    }

    /// <summary>The rules of the role a binding in <paramref name="ns"/> (null for a ClusterRoleBinding) refers to; null when it does not exist.</summary>
    public List<PolicyRule>? RulesOfRef(string? ns, string kind, string name) => kind switch
    {
        "ClusterRole" => _clusterRoles.Get(null, name) is { } r ? PolicyRule.RulesOf(r) : null,
        "Role" when ns is not null => _roles.Get(ns, name) is { } r ? PolicyRule.RulesOf(r) : null,
        _ => null,
    };

    /// <summary>The ClusterRoles in the cache (the aggregation controller has its own informer; this is for reviews).</summary>
    public IEnumerable<JsonObject> ClusterRoleObjects => _clusterRoles.List();

    static string RoleRefKind(JsonObject binding) => Obj.Str(binding, "roleRef", "kind") ?? "";

    static string RoleRefName(JsonObject binding) => Obj.Str(binding, "roleRef", "name") ?? "";

    /// <summary>True when a subject of <paramref name="binding"/> is <paramref name="user"/>, one of its groups, or its service account.</summary>
    static bool Binds(JsonObject binding, UserInfo user, string? bindingNs)
    {
        foreach (var s in Obj.Items(binding, "subjects"))
        {
            var name = Obj.Str(s, "name") ?? "";
            switch (Obj.Str(s, "kind"))
            {
                case "User" when name == user.Name:
                case "Group" when user.Groups.Contains(name):
                    return true;
                case "ServiceAccount":
                    var sns = Obj.Str(s, "namespace") is { Length: > 0 } n ? n : bindingNs ?? "";
                    if (user.Name == $"system:serviceaccount:{sns}:{name}") return true;
                    break;
            }
        }
        return false;
    }
}
