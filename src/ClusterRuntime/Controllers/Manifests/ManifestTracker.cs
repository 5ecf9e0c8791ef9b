// The status object of one manifest file (K3s's Addon): a ConfigMap in kube-system with its path, checksum and kinds.
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Manifests;

/// <summary>
/// <c>kube-system/manifest-&lt;path&gt;</c> (the relative path without its extension, lower-cased, other characters
/// than <c>[a-z0-9.-]</c> as <c>-</c>), labelled <see cref="TrackerLabel"/>, with <c>data.source</c> (the relative
/// path), <c>data.checksum</c> (SHA-256 of the content last applied in full) and <c>data.kinds</c> (the
/// <c>apiVersion/Kind</c> list it applied, where pruning looks). The file's Events are about this ConfigMap.
/// </summary>
public sealed class ManifestTracker(ObjectStore store)
{
    /// <summary>Label on every tracker ConfigMap.</summary>
    public const string TrackerLabel = "manifests.appliance.dev/tracker";

    const string Namespace = "kube-system";
    static readonly ApiResource ConfigMaps = Obj.Resource("", "configmaps");

    /// <summary>The tracker name of a relative path.</summary>
    public static string NameOf(string relativePath)
    {
        var stem = relativePath[..^Path.GetExtension(relativePath).Length].ToLowerInvariant();
        var name = new StringBuilder("manifest-");
        foreach (var c in stem) name.Append(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' ? c : '-');
        var text = name.ToString();
        if (text.Length > 253) text = text[..253];
        return text.TrimEnd('.', '-');
    }

    /// <summary>The tracker of <paramref name="relativePath"/>, created (without a checksum) when missing.</summary>
    public async Task<JsonObject> GetOrCreateAsync(string relativePath, CancellationToken ct)
    {
        var name = NameOf(relativePath);
        var (_, existing) = await store.TryGetAsync(ConfigMaps, Namespace, name, ct);
        if (existing is not null) return existing;
        var tracker = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = Namespace,
                ["labels"] = new JsonObject { [TrackerLabel] = "true" },
            },
            ["data"] = new JsonObject { ["source"] = relativePath },
        };
        try
        {
            return await store.CreateAsync(ConfigMaps, Namespace, tracker, ct);
        }
        catch (ApiException e) when (e.Code == 409)
        {
            return await store.GetAsync(ConfigMaps, Namespace, name, null, ct);
        }
    }

    /// <summary>The checksum last applied in full, or null.</summary>
    public static string? Checksum(JsonObject tracker) => Obj.Str(tracker, "data", "checksum");

    /// <summary>The resources the file applied last time.</summary>
    public static IEnumerable<ApiResource> Resources(JsonObject tracker) =>
        (Obj.Str(tracker, "data", "kinds") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(k => ResourceTable.Resources.FirstOrDefault(r => $"{r.ApiVersion}/{r.Kind}" == k))
            .OfType<ApiResource>();

    /// <summary>Records a full apply of <paramref name="checksum"/> with the resources it used.</summary>
    public Task RecordAsync(JsonObject tracker, string checksum, IEnumerable<ApiResource> resources, CancellationToken ct) =>
        store.UpdateAsync(ConfigMaps, Namespace, Meta.Name(tracker)!, cur =>
        {
            var data = Obj.Ensure(cur, "data");
            data["checksum"] = checksum;
            data["kinds"] = string.Join("\n", resources.Select(r => $"{r.ApiVersion}/{r.Kind}").Distinct().Order(StringComparer.Ordinal));
            return cur;
        }, false, ct);
}
