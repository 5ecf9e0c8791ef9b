// Escalation prevention: a user may write a Role or binding only for permissions it holds, unless it may escalate or bind.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Auth.Rbac;

/// <summary>
/// As upstream's RBAC storage: creating or updating a Role or ClusterRole needs every rule it grants to be covered by
/// the writer's own rules (in that namespace, or cluster-wide), or the <c>escalate</c> verb on it; creating or updating
/// a binding needs the rules of the role it refers to covered, or the <c>bind</c> verb on that role. Members of
/// <c>system:masters</c> pass.
/// </summary>
public sealed class EscalationCheck(Authorizer authorizer)
{
    /// <summary>
    /// Throws 403 when <paramref name="user"/> may not write <paramref name="obj"/> of <paramref name="r"/> in
    /// <paramref name="ns"/>. The rules of a binding's role come from <paramref name="referenced"/> when given (read
    /// from the store, so a Role created just before its binding is found), else from the authorizer's cache.
    /// </summary>
    public void Check(UserInfo user, ApiResource r, string? ns, JsonObject obj, List<PolicyRule>? referenced = null)
    {
        if (r.Group != RbacAuthorizer.Group || user.Groups.Contains(BootstrapPolicy.Masters)) return;
        var name = Meta.Name(obj) ?? "";
        ns ??= "";
        List<PolicyRule> granted;
        switch (r.Kind)
        {
            case "Role" or "ClusterRole":
                if (Allowed(user, "escalate", r.Plural, ns, name)) return;
                granted = PolicyRule.RulesOf(obj);
                // An aggregated ClusterRole's rules are the controller's to fill; what it will hold is what it selects.
                if (r.Kind == "ClusterRole" && obj["aggregationRule"] is JsonObject rule)
                    granted = [.. authorizer.Rbac.ClusterRoleObjects.Where(c => Selected(rule, c)).SelectMany(PolicyRule.RulesOf)];
                break;
            case "RoleBinding" or "ClusterRoleBinding":
                var kind = Obj.Str(obj, "roleRef", "kind") ?? "";
                var role = Obj.Str(obj, "roleRef", "name") ?? "";
                var plural = kind == "ClusterRole" ? "clusterroles" : "roles";
                if (Allowed(user, "bind", plural, ns, role)) return;
                granted = referenced ?? authorizer.Rbac.RulesOfRef(r.Kind == "RoleBinding" ? ns : null, kind, role)
                    ?? throw new ApiException(404, "NotFound", $"{plural}.{RbacAuthorizer.Group} \"{role}\" not found");
                break;
            default:
                return;
        }
        var held = authorizer.Rbac.RulesFor(user, ns).ToList();
        var missing = granted.SelectMany(Atoms).Where(atom => !held.Any(h => Covers(h, atom))).DistinctBy(Compact).ToList();
        if (missing.Count == 0) return;
        var groups = string.Join(" ", user.Groups.Select(g => $"\"{g}\""));
        var message = $"{r.GroupResource} \"{name}\" is forbidden: user \"{user.Name}\" (groups=[{groups}]) is attempting to grant RBAC permissions not currently held:\n"
            + string.Join("\n", missing.Select(Compact));
        throw new ApiException(403, "Forbidden", message, new JsonObject { ["name"] = name, ["group"] = r.Group, ["kind"] = r.Plural });
    }

    bool Allowed(UserInfo user, string verb, string plural, string ns, string name) =>
        authorizer.Authorize(new RequestAttributes(user, verb, true, "", RbacAuthorizer.Group, "v1", plural, "", ns, name)).Allowed;

    static bool Selected(JsonObject aggregationRule, JsonObject clusterRole) =>
        Obj.Items(aggregationRule, "clusterRoleSelectors").Any(s => Api.Selectors.LabelSelector.FromObject(s).Matches(Obj.Labels(clusterRole)));

    /// <summary>A rule split into single-verb, single-resource, single-name rules (upstream's BreakdownRule).</summary>
    static IEnumerable<PolicyRule> Atoms(PolicyRule r)
    {
        foreach (var verb in r.Verbs)
        {
            foreach (var url in r.NonResourceUrls) yield return PolicyRule.ForUrls([verb], url);
            foreach (var group in r.ApiGroups)
                foreach (var resource in r.Resources)
                    if (r.ResourceNames.Length == 0) yield return PolicyRule.For([verb], [group], resource);
                    else foreach (var name in r.ResourceNames) yield return PolicyRule.For([verb], [group], resource).Named(name);
        }
    }

    /// <summary>True when <paramref name="owner"/> grants everything the single rule <paramref name="atom"/> grants.</summary>
    static bool Covers(PolicyRule owner, PolicyRule atom)
    {
        if (!Has(owner.Verbs, atom.Verbs[0])) return false;
        if (atom.NonResourceUrls.Length > 0)
        {
            var url = atom.NonResourceUrls[0];
            return owner.NonResourceUrls.Any(u => u == PolicyRule.All || u == url || u.EndsWith('*') && url.StartsWith(u[..^1], StringComparison.Ordinal));
        }
        if (!Has(owner.ApiGroups, atom.ApiGroups[0])) return false;
        var resource = atom.Resources[0];
        var slash = resource.IndexOf('/');
        bool resourceOk = owner.Resources.Any(o => o == PolicyRule.All || o == resource
            || slash > 0 && (o == "*" + resource[slash..] || o == resource[..slash] + "/*"));
        if (!resourceOk) return false;
        return owner.ResourceNames.Length == 0 || atom.ResourceNames.Length == 1 && owner.ResourceNames.Contains(atom.ResourceNames[0]);
    }

    static bool Has(string[] list, string value) => list.Contains(PolicyRule.All) || list.Contains(value);

    /// <summary>A rule as upstream's escalation message lists it: <c>{APIGroups:[""], Resources:["pods"], Verbs:["get"]}</c>.</summary>
    static string Compact(PolicyRule r)
    {
        static string Q(string[] v) => "[" + string.Join(" ", v.Select(s => $"\"{s}\"")) + "]";
        var parts = new List<string>();
        if (r.ApiGroups.Length > 0) parts.Add("APIGroups:" + Q(r.ApiGroups));
        if (r.Resources.Length > 0) parts.Add("Resources:" + Q(r.Resources));
        if (r.ResourceNames.Length > 0) parts.Add("ResourceNames:" + Q(r.ResourceNames));
        if (r.NonResourceUrls.Length > 0) parts.Add("NonResourceURLs:" + Q(r.NonResourceUrls));
        parts.Add("Verbs:" + Q(r.Verbs));
        return "{" + string.Join(", ", parts) + "}";
    }
}
