// What objects charge against a ResourceQuota: the one accounting shared by the quota admission and the quota controller.
using System.Globalization;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Api.Quota;

/// <summary>
/// Resource names of quotas and what one object uses of them: every object <c>count/PLURAL[.GROUP]</c> = 1 (and the
/// legacy plain names pods, services, configmaps, secrets, persistentvolumeclaims, resourcequotas); a pod that is not
/// terminal (Succeeded/Failed) also <c>requests.cpu</c>/<c>cpu</c>, <c>requests.memory</c>/<c>memory</c>,
/// <c>limits.cpu</c>, <c>limits.memory</c>: the sum over its containers or the largest init container, whichever is larger.
/// </summary>
public static class QuotaUsage
{
    static readonly HashSet<string> LegacyCounts = ["pods", "services", "configmaps", "secrets", "persistentvolumeclaims", "resourcequotas"];
    static readonly string[] PodComputeNames = ["requests.cpu", "cpu", "requests.memory", "memory", "limits.cpu", "limits.memory"];

    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> Locks = new(StringComparer.Ordinal);

    /// <summary>
    /// Takes the quota lock of namespace <paramref name="ns"/> (this server only): admission holds it from charging a
    /// quota until the object is stored, the controller while it recounts and writes; dispose to release.
    /// </summary>
    public static async Task<IDisposable> LockAsync(string ns, CancellationToken ct)
    {
        var gate = Locks.GetOrAdd(ns, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        return new Held(gate);
    }

    sealed class Held(SemaphoreSlim gate) : IDisposable
    {
        int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) gate.Release();
        }
    }

    /// <summary>The quota name counting objects of <paramref name="r"/>.</summary>
    public static string CountName(ApiResource r) => "count/" + r.Plural + (r.Group.Length > 0 ? "." + r.Group : "");

    /// <summary>True for a pod that still holds its resources (not Succeeded or Failed).</summary>
    public static bool PodCounts(JsonObject pod) => pod["status"]?["phase"]?.GetValue<string>() is not ("Succeeded" or "Failed");

    /// <summary>What <paramref name="obj"/> of <paramref name="r"/> uses, by quota resource name.</summary>
    public static Dictionary<string, decimal> Of(ApiResource r, JsonObject obj)
    {
        var used = new Dictionary<string, decimal>(StringComparer.Ordinal);
        bool pod = r.Group.Length == 0 && r.Plural == "pods";
        if (pod && !PodCounts(obj)) return used;
        used[CountName(r)] = 1;
        if (r.Group.Length == 0 && LegacyCounts.Contains(r.Plural)) used[r.Plural] = 1;
        if (!pod) return used;
        foreach (var res in new[] { "cpu", "memory" })
        {
            used["requests." + res] = used[res] = PodTotal(obj, "requests", res);
            used["limits." + res] = PodTotal(obj, "limits", res);
        }
        return used;
    }

    /// <summary>The pod's effective amount of <paramref name="res"/> under <paramref name="kind"/> (requests or limits).</summary>
    static decimal PodTotal(JsonObject pod, string kind, string res)
    {
        decimal Amount(JsonObject c) => Quantity.Parse(c["resources"]?[kind]?[res]);
        var spec = pod["spec"] as JsonObject;
        var sum = (spec?["containers"] as JsonArray ?? []).OfType<JsonObject>().Sum(Amount);
        var init = (spec?["initContainers"] as JsonArray ?? []).OfType<JsonObject>().Select(Amount).DefaultIfEmpty(0).Max();
        return Math.Max(sum, init) + Quantity.Parse(spec?["overhead"]?[res]);
    }

    /// <summary>True when a container of the pod does not say <paramref name="name"/> (a compute name such as requests.cpu).</summary>
    public static bool PodLacks(JsonObject pod, string name)
    {
        if (Array.IndexOf(PodComputeNames, name) < 0) return false;
        var (kind, res) = name.Contains('.') ? (name[..name.IndexOf('.')], name[(name.IndexOf('.') + 1)..]) : ("requests", name);
        var spec = pod["spec"] as JsonObject;
        return new[] { "initContainers", "containers" }.SelectMany(list => (spec?[list] as JsonArray ?? []).OfType<JsonObject>())
            .Any(c => c["resources"]?[kind]?[res] is null);
    }

    /// <summary>The resource a quota name counts (pods for the compute names), or null when it names nothing served.</summary>
    public static ApiResource? ResourceOf(string name)
    {
        if (Array.IndexOf(PodComputeNames, name) >= 0) name = "pods";
        if (LegacyCounts.Contains(name)) return ResourceTable.Find("", "v1", name);
        if (!name.StartsWith("count/", StringComparison.Ordinal)) return null;
        var rest = name["count/".Length..];
        var dot = rest.IndexOf('.');
        var (plural, group) = dot < 0 ? (rest, "") : (rest[..dot], rest[(dot + 1)..]);
        return ResourceTable.Served.FirstOrDefault(r => r.Group == group && r.Plural == plural && r.StoredAs is null);
    }

    /// <summary>The current use in <paramref name="ns"/> of each of <paramref name="names"/>, from the store.</summary>
    public static async Task<Dictionary<string, decimal>> InNamespaceAsync(ObjectStore store, string ns, IEnumerable<string> names, CancellationToken ct)
    {
        var used = new Dictionary<string, decimal>(StringComparer.Ordinal);
        var lists = new Dictionary<ApiResource, List<JsonObject>>();
        foreach (var name in names)
        {
            if (ResourceOf(name) is not { } r) continue;
            if (!lists.TryGetValue(r, out var items)) lists[r] = items = (await store.ListAsync(r, ns, ListOptions.Everything, ct)).Items;
            used[name] = items.Sum(o => Of(r, o).GetValueOrDefault(name));
        }
        return used;
    }

    /// <summary>A quantity as a string: whole numbers plain (binary suffixes for memory and storage), fractions in thousandths.</summary>
    public static string Format(string name, decimal value)
    {
        if (value != decimal.Truncate(value)) return decimal.Ceiling(value * 1000m).ToString(CultureInfo.InvariantCulture) + "m";
        if (value != 0 && (name.Contains("memory") || name.Contains("storage")))
            foreach (var (suffix, factor) in new[] { ("Gi", 1024m * 1024 * 1024), ("Mi", 1024m * 1024), ("Ki", 1024m) })
                if (value % factor == 0) return (value / factor).ToString(CultureInfo.InvariantCulture) + suffix;
        return value.ToString("0", CultureInfo.InvariantCulture);
    }
}
