// API discovery documents: legacy (/api, /apis, /api/v1, /apis/g/v) and aggregated (apidiscovery.k8s.io v2, v2beta1).
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api;

/// <summary>Builds discovery documents from the resource table.</summary>
public static class Discovery
{
    /// <summary>The aggregated discovery version the client accepts first (v2 or v2beta1), or null for legacy discovery.</summary>
    public static string? AggregatedVersion(string? accept)
    {
        if (string.IsNullOrEmpty(accept)) return null;
        foreach (var part in accept.Split(','))
        {
            var p = part.Split(';').Select(s => s.Trim()).ToArray();
            if (p[0] is not ("application/json" or "*/*")) continue;
            string? g = null, v = null, a = null;
            foreach (var kv in p.Skip(1))
            {
                var eq = kv.IndexOf('=');
                if (eq < 0) continue;
                var (k, val) = (kv[..eq], kv[(eq + 1)..]);
                if (k == "g") g = val; else if (k == "v") v = val; else if (k == "as") a = val;
            }
            if (g is null && v is null && a is null) return null; // plain JSON is preferred before any aggregated form
            if (g == "apidiscovery.k8s.io" && a == "APIGroupDiscoveryList" && v is "v2" or "v2beta1") return v;
        }
        return null;
    }

    /// <summary>The Content-Type of an aggregated discovery response.</summary>
    public static string AggregatedContentType(string version) => $"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList";

    /// <summary>GET /api (legacy).</summary>
    public static JsonObject CoreVersions(string serverAddress) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = serverAddress }),
    };

    /// <summary>GET /apis (legacy).</summary>
    public static JsonObject GroupList() => new()
    {
        ["kind"] = "APIGroupList",
        ["apiVersion"] = "v1",
        ["groups"] = new JsonArray(Groups().Select(g => (JsonNode)Group(g)).ToArray()),
    };

    /// <summary>GET /apis/&lt;group&gt; (legacy), or null when the group is not served.</summary>
    public static JsonObject? GroupDoc(string group)
    {
        if (!Groups().Contains(group)) return null;
        var doc = Group(group);
        doc["kind"] = "APIGroup";
        doc["apiVersion"] = "v1";
        return doc;
    }

    static IEnumerable<string> Groups() => ResourceTable.GroupVersions.Select(gv => gv.Group).Where(g => g.Length > 0).Distinct();

    static JsonObject Group(string group)
    {
        var versions = ResourceTable.GroupVersions.Where(gv => gv.Group == group).Select(gv => gv.Version).ToList();
        return new JsonObject
        {
            ["name"] = group,
            ["versions"] = new JsonArray(versions.Select(v => (JsonNode)new JsonObject { ["groupVersion"] = $"{group}/{v}", ["version"] = v }).ToArray()),
            ["preferredVersion"] = new JsonObject { ["groupVersion"] = $"{group}/{versions[0]}", ["version"] = versions[0] },
        };
    }

    /// <summary>GET /api/v1 or /apis/g/v (legacy APIResourceList).</summary>
    public static JsonObject ResourceList(string group, string version)
    {
        var resources = new JsonArray();
        foreach (var r in ResourceTable.Served.Where(r => r.Group == group && r.Version == version))
        {
            var entry = new JsonObject
            {
                ["name"] = r.Plural,
                ["singularName"] = r.Singular,
                ["namespaced"] = r.Namespaced,
                ["kind"] = r.Kind,
                ["verbs"] = Strings(r.Verbs),
            };
            if (r.ShortNames.Length > 0) entry["shortNames"] = Strings(r.ShortNames);
            if (r.Categories.Length > 0) entry["categories"] = Strings(r.Categories);
            resources.Add((JsonNode)entry);
            if (r.HasStatus)
                resources.Add((JsonNode)new JsonObject { ["name"] = r.Plural + "/status", ["singularName"] = "", ["namespaced"] = r.Namespaced, ["kind"] = r.Kind, ["verbs"] = Strings(["get", "patch", "update"]) });
            if (r.HasScale)
                resources.Add((JsonNode)new JsonObject { ["name"] = r.Plural + "/scale", ["singularName"] = "", ["namespaced"] = r.Namespaced, ["group"] = "autoscaling", ["version"] = "v1", ["kind"] = "Scale", ["verbs"] = Strings(["get", "patch", "update"]) });
        }
        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}",
            ["resources"] = resources,
        };
    }

    /// <summary>Aggregated discovery: GET /api (core only) or GET /apis (all named groups).</summary>
    public static JsonObject Aggregated(bool core, string version)
    {
        var items = new JsonArray();
        var groups = core ? [""] : Groups().ToList();
        foreach (var group in groups)
        {
            var versions = new JsonArray();
            foreach (var (_, v) in ResourceTable.GroupVersions.Where(gv => gv.Group == group))
            {
                var resources = new JsonArray();
                foreach (var r in ResourceTable.Served.Where(r => r.Group == group && r.Version == v))
                {
                    var entry = new JsonObject
                    {
                        ["resource"] = r.Plural,
                        ["responseKind"] = Gvk(r.Group, r.Version, r.Kind),
                        ["scope"] = r.Namespaced ? "Namespaced" : "Cluster",
                        ["singularResource"] = r.Singular,
                        ["verbs"] = Strings(r.Verbs),
                    };
                    if (r.ShortNames.Length > 0) entry["shortNames"] = Strings(r.ShortNames);
                    if (r.Categories.Length > 0) entry["categories"] = Strings(r.Categories);
                    var subs = new JsonArray();
                    if (r.HasStatus) subs.Add((JsonNode)new JsonObject { ["subresource"] = "status", ["responseKind"] = Gvk(r.Group, r.Version, r.Kind), ["verbs"] = Strings(["get", "patch", "update"]) });
                    if (r.HasScale) subs.Add((JsonNode)new JsonObject { ["subresource"] = "scale", ["responseKind"] = Gvk("autoscaling", "v1", "Scale"), ["verbs"] = Strings(["get", "patch", "update"]) });
                    if (subs.Count > 0) entry["subresources"] = subs;
                    resources.Add((JsonNode)entry);
                }
                versions.Add((JsonNode)new JsonObject { ["version"] = v, ["resources"] = resources, ["freshness"] = "Current" });
            }
            var metadata = new JsonObject { ["creationTimestamp"] = null };
            if (group.Length > 0) metadata["name"] = group;
            items.Add((JsonNode)new JsonObject { ["metadata"] = metadata, ["versions"] = versions });
        }
        return new JsonObject
        {
            ["kind"] = "APIGroupDiscoveryList",
            ["apiVersion"] = "apidiscovery.k8s.io/" + version,
            ["metadata"] = new JsonObject(),
            ["items"] = items,
        };
    }

    static JsonObject Gvk(string g, string v, string k) => new() { ["group"] = g, ["version"] = v, ["kind"] = k };

    static JsonArray Strings(IEnumerable<string> s) => new(s.Select(x => (JsonNode)JsonValue.Create(x)!).ToArray());
}
