// A minimal OpenAPI v3 index: one document per group/version listing each resource's paths and its GVK.
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api;

/// <summary>
/// kubectl reads /openapi/v3 to learn whether the server takes the <c>fieldValidation</c> query parameter (it looks for
/// a PATCH operation tagged with the kind's x-kubernetes-group-version-kind). These documents carry paths and
/// operations only, no schemas yet (they are to be generated from <see cref="Schema.TypeCatalog"/>); the server does
/// not reject unknown fields (see README).
/// </summary>
public static class OpenApi
{
    /// <summary>GET /openapi/v3: the index of group/version documents.</summary>
    public static JsonObject Root()
    {
        var paths = new JsonObject();
        foreach (var (g, v) in ResourceTable.GroupVersions)
        {
            var key = g.Length == 0 ? $"api/{v}" : $"apis/{g}/{v}";
            paths[key] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{key}?hash=0" };
        }
        return new JsonObject { ["paths"] = paths };
    }

    /// <summary>GET /openapi/v3/api/v1 or /openapi/v3/apis/g/v, or null when not served.</summary>
    public static JsonObject? GroupVersion(string path)
    {
        var seg = path.Trim('/').Split('/');
        string group, version;
        if (seg.Length == 2 && seg[0] == "api") (group, version) = ("", seg[1]);
        else if (seg.Length == 3 && seg[0] == "apis") (group, version) = (seg[1], seg[2]);
        else return null;
        if (!ResourceTable.HasGroupVersion(group, version)) return null;
        var paths = new JsonObject();
        foreach (var r in ResourceTable.Resources.Where(r => r.Group == group && r.Version == version))
        {
            var root = group.Length == 0 ? $"/api/{version}" : $"/apis/{group}/{version}";
            var collection = r.Namespaced ? $"{root}/namespaces/{{namespace}}/{r.Plural}" : $"{root}/{r.Plural}";
            paths[collection] = new JsonObject { ["post"] = Operation(r, "create"), ["get"] = Operation(r, "list") };
            paths[collection + "/{name}"] = new JsonObject
            {
                ["get"] = Operation(r, "read"), ["put"] = Operation(r, "replace"),
                ["patch"] = Operation(r, "patch"), ["delete"] = Operation(r, "delete"),
            };
        }
        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes", ["version"] = "v1.32.0" },
            ["paths"] = paths,
        };
    }

    static JsonObject Operation(ApiResource r, string verb)
    {
        var op = new JsonObject
        {
            ["operationId"] = $"{verb}{r.Kind}",
            ["x-kubernetes-action"] = verb,
            ["x-kubernetes-group-version-kind"] = new JsonObject { ["group"] = r.Group, ["version"] = r.Version, ["kind"] = r.Kind },
            ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK" } },
        };
        if (verb is "create" or "replace" or "patch")
            op["parameters"] = new JsonArray(new JsonObject { ["name"] = "fieldValidation", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } });
        return op;
    }
}
