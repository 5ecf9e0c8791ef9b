// The custom resources served now: rebuilt from the stored CRDs whenever one changes, consulted by ResourceTable's lookups.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Api.CustomResources;

/// <summary>
/// One immutable snapshot of the served custom resources, swapped whole (readers never lock and never see half an
/// update). It is process-wide, like the built-in table: one server process serves one cluster.
/// </summary>
public static class CustomResourceRegistry
{
    sealed record Snapshot(
        IReadOnlyList<ApiResource> Resources,
        Dictionary<(string, string, string), ApiResource> ByPlural,
        Dictionary<(string, string), ApiResource> ByKind,
        IReadOnlyList<(string Group, string Version, string Kind, JsonObject Schema)> Schemas);

    static Snapshot _current = new([], [], [], []);

    /// <summary>Raised after every change of what is served.</summary>
    public static event Action? Changed;

    /// <summary>Every served custom resource version, grouped by group, each group's versions in priority order.</summary>
    public static IReadOnlyList<ApiResource> Resources => Volatile.Read(ref _current).Resources;

    /// <summary>A served custom resource by group, version and plural; null when none.</summary>
    public static ApiResource? Find(string group, string version, string plural) =>
        Volatile.Read(ref _current).ByPlural.GetValueOrDefault((group, version, plural));

    /// <summary>A served custom resource by apiVersion and kind; null when none.</summary>
    public static ApiResource? FindKind(string apiVersion, string kind) =>
        Volatile.Read(ref _current).ByKind.GetValueOrDefault((apiVersion, kind));

    /// <summary>
    /// The openAPIV3Schema of every served CRD version (for the OpenAPI documents): group, version, kind and schema.
    /// The schema objects are shared: clone before changing one.
    /// </summary>
    public static IReadOnlyList<(string Group, string Version, string Kind, JsonObject Schema)> Schemas => Volatile.Read(ref _current).Schemas;

    /// <summary>Serves exactly the accepted CRDs of <paramref name="accepted"/> (with whether each is terminating).</summary>
    public static void Publish(IEnumerable<(CustomResourceDefinition Crd, bool Terminating)> accepted)
    {
        var rows = new List<ApiResource>();
        var schemas = new List<(string, string, string, JsonObject)>();
        foreach (var group in accepted.GroupBy(a => a.Crd.Group).OrderBy(g => g.Key, StringComparer.Ordinal))
            foreach (var (crd, terminating) in group.OrderBy(a => a.Crd.Names.Plural, StringComparer.Ordinal))
            {
                var stored = Row(crd, crd.StorageVersion!, terminating, null);
                foreach (var v in crd.Versions.Where(v => v.Served).OrderBy(v => v.Name, VersionPriority.Instance))
                {
                    rows.Add(v.Storage ? stored : Row(crd, v, terminating, stored));
                    schemas.Add((crd.Group, v.Name, crd.Names.Kind, v.Schema!));
                }
            }
        // Discovery lists a group's versions in priority order across all its CRDs.
        rows = rows.GroupBy(r => r.Group).SelectMany(g => g.OrderBy(r => r.Version, VersionPriority.Instance)).ToList();
        var next = new Snapshot(rows,
            rows.ToDictionary(r => (r.Group, r.Version, r.Plural)),
            rows.GroupBy(r => (r.ApiVersion, r.Kind)).ToDictionary(g => g.Key, g => g.First()),
            schemas);
        Volatile.Write(ref _current, next);
        Changed?.Invoke();
    }

    /// <summary>The row of <paramref name="crd"/>'s storage version (also when it is not served), to reach its stored objects.</summary>
    public static ApiResource StorageRow(CustomResourceDefinition crd) => Row(crd, crd.StorageVersion!, false, null);

    static ApiResource Row(CustomResourceDefinition crd, CrdVersion v, bool terminating, ApiResource? storedAs) =>
        new(crd.Group, v.Name, crd.Names.Kind, crd.Names.Plural, crd.Names.Singular, crd.Namespaced, crd.Names.ShortNames, crd.Names.Categories,
            HasStatus: v.Status, HasScale: v.Scale is not null)
        {
            StoredAs = storedAs,
            Custom = new CustomResourceVersion(crd.Name, crd.Names.ListKind, v.Schema ?? new JsonObject { ["type"] = "object" },
                PrinterColumns.For(v.Columns), CustomScale.Read(v.Scale), terminating),
        };

    /// <summary>Whether <paramref name="crd"/> (a stored CRD object) is being deleted.</summary>
    public static bool IsTerminating(JsonObject crd) => Meta.Str(crd, "deletionTimestamp") is not null;
}
