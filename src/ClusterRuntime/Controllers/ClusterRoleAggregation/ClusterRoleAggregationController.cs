// Fills the rules of every ClusterRole with an aggregationRule from the ClusterRoles its selectors match.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.ClusterRoleAggregation;

/// <summary>
/// As upstream's clusterrole-aggregation controller: an aggregated ClusterRole's <c>rules</c> are the rules of every
/// other ClusterRole matching any of its <c>aggregationRule.clusterRoleSelectors</c>, in name order, each rule once.
/// Any ClusterRole change queues every aggregated role, so chains settle (view feeds edit, edit feeds admin).
/// </summary>
public sealed class ClusterRoleAggregationController : IController
{
    static readonly ApiResource ClusterRoles = Obj.Resource("rbac.authorization.k8s.io", "clusterroles");

    readonly ControllerContext _ctx;
    readonly Informer _roles;
    readonly WorkQueue _queue;

    /// <summary>Wires the ClusterRole informer.</summary>
    public ClusterRoleAggregationController(ControllerContext ctx)
    {
        _ctx = ctx;
        _roles = ctx.Informers.For(ClusterRoles);
        _queue = new WorkQueue(Name, ctx.Logger(Name), ctx.Clock);
        _roles.OnChange((_, _) =>
        {
            foreach (var role in _roles.List())
                if (role["aggregationRule"] is JsonObject) _queue.Add(Informer.KeyOf(role));
        });
    }

    /// <inheritdoc />
    public string Name => "clusterrole-aggregation-controller";

    /// <inheritdoc />
    public Task RunAsync(CancellationToken ct) => _queue.RunAsync(1, SyncAsync, ct);

    async Task SyncAsync(string name, CancellationToken ct)
    {
        var role = _roles.Get(name);
        if (role?["aggregationRule"] is not JsonObject rule) return;
        var selectors = Obj.Items(rule, "clusterRoleSelectors").Select(LabelSelector.FromObject).ToList();
        var rules = new JsonArray();
        foreach (var other in _roles.List().OrderBy(r => Meta.Name(r), StringComparer.Ordinal))
        {
            if (Meta.Name(other) == name || !selectors.Any(s => s.Matches(Obj.Labels(other)))) continue;
            foreach (var r in Obj.Items(other, "rules"))
                if (!rules.Any(have => JsonNode.DeepEquals(have, r))) rules.Add(r.DeepClone());
        }
        if (JsonNode.DeepEquals(role["rules"] ?? new JsonArray(), rules)) return;
        await _ctx.Store.UpdateAsync(ClusterRoles, null, name, cur =>
        {
            cur["rules"] = rules.DeepClone();
            Meta.Of(cur)["resourceVersion"] = Meta.Str(role, "resourceVersion");
            return cur;
        }, false, ct);
    }
}
