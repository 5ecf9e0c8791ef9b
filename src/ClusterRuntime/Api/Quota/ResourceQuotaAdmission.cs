// Upstream's ResourceQuota admission plugin: refuses creates that would exceed a namespace's quotas, and charges them.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Api.Quota;

/// <summary>
/// On create of a namespaced object: for every ResourceQuota of its namespace whose <c>spec.hard</c> names something
/// the object uses (<see cref="QuotaUsage"/>), a pod must state each constrained compute resource (403
/// <c>failed quota: Q: must specify requests.cpu</c>), and used + requested must stay within hard (403
/// <c>exceeded quota: Q, requested: pods=1, used: pods=2, limited: pods=2</c>). The new use is written into the
/// quota's <c>status.used</c> by a compare-and-swap update before the object is stored, so two creates racing for the
/// last unit cannot both pass; the quota controller later recounts from what is stored. Within one server the
/// namespace's quota lock (<see cref="QuotaUsage.LockAsync"/>) is held from the charge until the object is stored, so the
/// controller never recounts between the two and undoes a charge. Dry runs are checked, not charged.
/// </summary>
public static class ResourceQuotaAdmission
{
    static readonly ApiResource Quotas = ResourceTable.Find("", "v1", "resourcequotas")!;

    /// <summary>Admits the creation of <paramref name="obj"/> of <paramref name="r"/>.</summary>
    /// <exception cref="ApiException">403 when a quota would be exceeded.</exception>
    /// <returns>The namespace's quota lock, to release once the object is stored; null when no quota applies.</returns>
    public static async Task<IDisposable?> AdmitAsync(ObjectStore store, ApiResource r, JsonObject obj, bool dryRun, CancellationToken ct)
    {
        if (!r.Namespaced || Meta.Namespace(obj) is not { Length: > 0 } ns) return null;
        var requested = QuotaUsage.Of(r, obj);
        if (requested.Count == 0) return null;
        var quotas = (await store.ListAsync(Quotas, ns, ListOptions.Everything, ct)).Items;
        if (!quotas.Any(q => (q["spec"]?["hard"] as JsonObject ?? []).Any(p => requested.ContainsKey(p.Key)))) return null;
        var held = await QuotaUsage.LockAsync(ns, ct);
        try
        {
            await ChargeAsync(store, r, obj, ns, requested, dryRun, ct);
            return held;
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    static async Task ChargeAsync(ObjectStore store, ApiResource r, JsonObject obj, string ns, Dictionary<string, decimal> requested, bool dryRun, CancellationToken ct)
    {
        var pod = r.Group.Length == 0 && r.Plural == "pods";
        foreach (var quota in (await store.ListAsync(Quotas, ns, ListOptions.Everything, ct)).Items)
        {
            var name = Meta.Name(quota)!;
            var hard = (quota["spec"]?["hard"] as JsonObject ?? []).Select(p => p.Key).Where(requested.ContainsKey).ToList();
            if (hard.Count == 0) continue;
            if (pod && hard.Where(h => QuotaUsage.PodLacks(obj, h)).Order(StringComparer.Ordinal).ToList() is { Count: > 0 } missing)
                throw Forbidden(r, obj, $"failed quota: {name}: must specify {string.Join(",", missing)}");
            // Use the controller hasn't recorded yet is counted here from the store.
            var unknown = hard.Where(h => quota["status"]?["used"]?[h] is null).ToList();
            var counted = unknown.Count > 0 ? await QuotaUsage.InNamespaceAsync(store, ns, unknown, ct) : [];
            JsonObject Charge(JsonObject current)
            {
                var used = (current["status"]?["used"] as JsonObject)?.DeepClone().AsObject() ?? [];
                var limits = current["spec"]?["hard"] as JsonObject ?? [];
                var over = new List<string>();
                foreach (var h in hard)
                {
                    if (limits[h] is null) continue;
                    var now = used[h] is { } u ? Quantity.Parse(u) : counted.GetValueOrDefault(h);
                    if (now + requested[h] > Quantity.Parse(limits[h])) over.Add(h);
                    used[h] = QuotaUsage.Format(h, now + requested[h]);
                }
                if (over.Count > 0)
                {
                    over.Sort(StringComparer.Ordinal);
                    string List(Func<string, string> value) => string.Join(",", over.Select(h => h + "=" + value(h)));
                    throw Forbidden(r, obj, $"exceeded quota: {name}, requested: {List(h => QuotaUsage.Format(h, requested[h]))}, " +
                        $"used: {List(h => used[h] is { } u2 ? QuotaUsage.Format(h, Quantity.Parse(u2) - requested[h]) : "0")}, limited: {List(h => Text(limits[h]))}");
                }
                var status = current["status"] as JsonObject ?? (JsonObject)(current["status"] = new JsonObject());
                status["hard"] ??= limits.DeepClone();
                status["used"] = used;
                return current;
            }
            if (dryRun) Charge(quota.DeepClone().AsObject());
            else await store.UpdateAsync(Quotas, ns, name, Charge, statusOnly: true, ct);
        }
    }

    static string Text(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n?.ToJsonString() ?? "";

    static ApiException Forbidden(ApiResource r, JsonObject obj, string why) =>
        new(403, "Forbidden", $"{r.Plural} \"{Meta.Name(obj)}\" is forbidden: {why}", new JsonObject { ["name"] = Meta.Name(obj), ["kind"] = r.Plural });
}
