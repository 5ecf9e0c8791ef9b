// Creates the default RBAC policy at server start, and brings older copies up to date without undoing local edits.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Auth.Rbac;

/// <summary>
/// As kube-apiserver's RBAC bootstrap hook: every default object that is missing is created; one that exists is
/// reconciled unless its <c>rbac.authorization.kubernetes.io/autoupdate</c> annotation is "false": missing rules,
/// subjects, labels and annotations are added (nothing is taken away), and an aggregated role gets the default
/// aggregation rule. Running it again changes nothing, so every server runs it at every start.
/// </summary>
public static class BootstrapReconciler
{
    /// <summary>Reconciles every default object through <paramref name="store"/>.</summary>
    public static async Task ReconcileAsync(ObjectStore store, ILogger logger, CancellationToken ct)
    {
        foreach (var o in BootstrapPolicy.ClusterRoles()) await ReconcileAsync(store, RbacAuthorizer.ClusterRoles, o, logger, ct);
        foreach (var o in BootstrapPolicy.ClusterRoleBindings()) await ReconcileAsync(store, RbacAuthorizer.ClusterRoleBindings, o, logger, ct);
        foreach (var o in BootstrapPolicy.Roles()) await ReconcileAsync(store, RbacAuthorizer.Roles, o, logger, ct);
        foreach (var o in BootstrapPolicy.RoleBindings()) await ReconcileAsync(store, RbacAuthorizer.RoleBindings, o, logger, ct);
    }

    static async Task ReconcileAsync(ObjectStore store, ApiResource r, JsonObject wanted, ILogger logger, CancellationToken ct)
    {
        wanted["apiVersion"] = r.ApiVersion;
        wanted["kind"] = r.Kind;
        var ns = Meta.Namespace(wanted);
        var name = Meta.Name(wanted)!;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            var (_, current) = await store.TryGetAsync(r, ns, name, ct);
            try
            {
                if (current is null)
                {
                    await store.CreateAsync(r, ns, wanted.DeepClone().AsObject(), ct);
                    return;
                }
                if (Obj.Str(current, "metadata", "annotations", BootstrapPolicy.AutoUpdate) == "false" || !Merge(Obj.Clone(current), wanted, out _)) return;
                await store.UpdateAsync(r, ns, name, cur => Merge(cur, wanted, out var merged) ? merged : cur, false, ct);
                logger.LogInformation("updated default {Kind} {Name} (missing rules, subjects, labels or annotations added)", r.Kind, name);
                return;
            }
            catch (Exception e) when (e is ApiException { Code: 409 } or Datastore.KeyExistsException)
            {
                // Another server reconciled the same object at the same moment: read it again.
            }
        }
    }

    /// <summary>Adds what <paramref name="wanted"/> has and <paramref name="current"/> lacks; true when anything was added.</summary>
    static bool Merge(JsonObject current, JsonObject wanted, out JsonObject merged)
    {
        merged = current;
        bool changed = false;
        var meta = Meta.Of(current);
        foreach (var map in new[] { "labels", "annotations" })
            foreach (var (k, v) in wanted["metadata"]![map]!.AsObject())
            {
                var have = meta[map] as JsonObject ?? (JsonObject)(meta[map] = new JsonObject());
                if (have[k] is null) { have[k] = v!.DeepClone(); changed = true; }
            }
        changed |= AddMissing(current, wanted, "rules");
        changed |= AddMissing(current, wanted, "subjects");
        if (wanted["aggregationRule"] is { } rule && !JsonNode.DeepEquals(current["aggregationRule"], rule))
        {
            current["aggregationRule"] = rule.DeepClone();
            changed = true;
        }
        return changed;
    }

    static bool AddMissing(JsonObject current, JsonObject wanted, string list)
    {
        if (wanted[list] is not JsonArray want) return false;
        var have = current[list] as JsonArray ?? (JsonArray)(current[list] = new JsonArray());
        bool changed = false;
        foreach (var item in want)
            if (!have.Any(h => JsonNode.DeepEquals(h, item)))
            {
                have.Add(item!.DeepClone());
                changed = true;
            }
        return changed;
    }
}
