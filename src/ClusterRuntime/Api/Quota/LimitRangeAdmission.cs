// Upstream's LimitRanger admission plugin for type Container: defaults and bounds from the namespace's LimitRanges.
using System.Globalization;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Api.Quota;

/// <summary>
/// On pod create, for every LimitRange of the namespace and each of its <c>type: Container</c> items: a container or init
/// container without a limit gets <c>default</c>, without a request <c>defaultRequest</c> (noted in the pod's
/// <c>kubernetes.io/limit-ranger</c> annotation); then <c>min</c>, <c>max</c> and <c>maxLimitRequestRatio</c> are
/// checked and a violation is 403 Forbidden in upstream's words. Mirror pods are left alone.
/// </summary>
public static class LimitRangeAdmission
{
    static readonly ApiResource LimitRanges = ResourceTable.Find("", "v1", "limitranges")!;

    /// <summary>Admits <paramref name="pod"/>, changing it in place.</summary>
    /// <exception cref="ApiException">403 when a container breaks a bound.</exception>
    public static async Task AdmitAsync(ObjectStore store, JsonObject pod, CancellationToken ct)
    {
        if (Meta.Of(pod)["annotations"]?["kubernetes.io/config.mirror"] is not null) return;
        var items = (await store.ListAsync(LimitRanges, Meta.Namespace(pod), ListOptions.Everything, ct)).Items
            .SelectMany(lr => (lr["spec"]?["limits"] as JsonArray ?? []).OfType<JsonObject>())
            .Where(i => i["type"]?.GetValue<string>() == "Container").ToList();
        if (items.Count == 0) return;
        var spec = pod["spec"] as JsonObject;
        var containers = new[] { ("containers", "container"), ("initContainers", "init container") }
            .SelectMany(l => (spec?[l.Item1] as JsonArray ?? []).OfType<JsonObject>().Select(c => (Container: c, Type: l.Item2))).ToList();
        var notes = new List<string>();
        foreach (var (c, type) in containers)
        {
            var resources = c["resources"] as JsonObject ?? (JsonObject)(c["resources"] = new JsonObject());
            foreach (var (kind, source, word) in new[] { ("limits", "default", "limit"), ("requests", "defaultRequest", "request") })
            {
                var set = new SortedSet<string>(StringComparer.Ordinal);
                foreach (var item in items)
                    foreach (var (res, value) in item[source] as JsonObject ?? [])
                    {
                        var target = resources[kind] as JsonObject ?? (JsonObject)(resources[kind] = new JsonObject());
                        if (target[res] is not null) continue;
                        target[res] = value?.DeepClone();
                        set.Add(res);
                    }
                if (set.Count > 0) notes.Add($"{string.Join(", ", set)} {word} for {type} {c["name"]?.GetValue<string>()}");
            }
            // Upstream fills a missing request from the limit (the defaulting of new pods), defaulted limits included.
            if (resources["limits"] is JsonObject limits)
            {
                var requests = resources["requests"] as JsonObject ?? (JsonObject)(resources["requests"] = new JsonObject());
                foreach (var (res, value) in limits) if (requests[res] is null) requests[res] = value?.DeepClone();
            }
        }
        if (notes.Count > 0)
        {
            var meta = Meta.Of(pod);
            var annotations = meta["annotations"] as JsonObject ?? (JsonObject)(meta["annotations"] = new JsonObject());
            annotations["kubernetes.io/limit-ranger"] = "LimitRanger plugin set: " + string.Join("; ", notes);
        }
        var problems = new List<string>();
        foreach (var item in items)
            foreach (var (c, _) in containers)
                problems.AddRange(Check(item, c["resources"] as JsonObject));
        if (problems.Count == 0) return;
        var message = problems.Count == 1 ? problems[0] : "[" + string.Join(", ", problems) + "]";
        throw new ApiException(403, "Forbidden", $"pods \"{Meta.Name(pod)}\" is forbidden: {message}",
            new JsonObject { ["name"] = Meta.Name(pod), ["kind"] = "pods" });
    }

    // The bounds of one item against one container's resources, in upstream's words.
    static IEnumerable<string> Check(JsonObject item, JsonObject? resources)
    {
        JsonNode? Request(string res) => resources?["requests"]?[res];
        JsonNode? Limit(string res) => resources?["limits"]?[res];
        static string Text(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n?.ToJsonString() ?? "";
        foreach (var (res, min) in item["min"] as JsonObject ?? [])
        {
            var bound = Quantity.Parse(min);
            if (Request(res) is not { } req) yield return $"minimum {res} usage per Container is {Text(min)}.  No request is specified";
            else if (Quantity.Parse(req) < bound) yield return $"minimum {res} usage per Container is {Text(min)}, but request is {Text(req)}";
            if (Limit(res) is { } lim && Quantity.Parse(lim) < bound) yield return $"minimum {res} usage per Container is {Text(min)}, but limit is {Text(lim)}";
        }
        foreach (var (res, max) in item["max"] as JsonObject ?? [])
        {
            var bound = Quantity.Parse(max);
            if (Request(res) is { } req && Quantity.Parse(req) > bound) yield return $"maximum {res} usage per Container is {Text(max)}, but request is {Text(req)}";
            if (Limit(res) is not { } lim) yield return $"maximum {res} usage per Container is {Text(max)}.  No limit is specified";
            else if (Quantity.Parse(lim) > bound) yield return $"maximum {res} usage per Container is {Text(max)}, but limit is {Text(lim)}";
        }
        foreach (var (res, ratio) in item["maxLimitRequestRatio"] as JsonObject ?? [])
        {
            var req = Quantity.Parse(Request(res));
            if (Limit(res) is not { } limNode) { yield return $"{res} max limit to request ratio per Container is {Text(ratio)}, but no limit is specified"; continue; }
            if (req <= 0) { yield return $"{res} max limit to request ratio per Container is {Text(ratio)}, but no request is specified or request is 0"; continue; }
            var actual = Quantity.Parse(limNode) / req;
            if (actual > Quantity.Parse(ratio))
                yield return $"{res} max limit to request ratio per Container is {Text(ratio)}, but provided ratio is {actual.ToString("0.000000", CultureInfo.InvariantCulture)}";
        }
    }
}
