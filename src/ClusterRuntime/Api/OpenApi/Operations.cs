// The paths and operations of a group/version, with parameters and request/response schemas, in either dialect.
using System.Globalization;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Schema;

namespace Appliance.ClusterRuntime.Api.OpenApi;

/// <summary>
/// One path item per collection, object and subresource the server routes, each operation tagged with
/// <c>x-kubernetes-action</c> and <c>x-kubernetes-group-version-kind</c>. kubectl looks for the PATCH operation of a kind
/// to learn that the server takes <c>fieldValidation</c> (and <c>dryRun</c>), and for the strategic-merge content type
/// to compute client-side apply patches from the published merge keys.
/// </summary>
public static class Operations
{
    const string Meta = TypeCatalog.MetaPackage;

    /// <summary>The patch content types the server takes.</summary>
    public static readonly string[] PatchTypes =
        ["application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"];

    /// <summary>The meta/v1 types the operations refer to besides the resources' own.</summary>
    public static IEnumerable<TypeDef> Referenced =>
        [TypeCatalog.Get(Meta + ".DeleteOptions"), TypeCatalog.Get(Meta + ".Status"), TypeCatalog.Get(Meta + ".Patch")];

    /// <summary>The <c>paths</c> object for <paramref name="resources"/>, sorted by path.</summary>
    public static JsonObject Paths(IEnumerable<ApiResource> resources, Dialect d)
    {
        var paths = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var r in resources)
        {
            var root = r.Group.Length == 0 ? $"/api/{r.Version}" : $"/apis/{r.Group}/{r.Version}";
            var collection = r.Namespaced ? $"{root}/namespaces/{{namespace}}/{r.Plural}" : $"{root}/{r.Plural}";
            var ns = r.Namespaced ? "Namespaced" : "";
            var type = TypeCatalog.For(r).FullName;
            var gvk = SchemaWriter.Gvk(r.Group, r.Version, r.Kind);
            var op = new Builder(r, d, gvk);
            paths[collection] = Item(d, r.Namespaced, named: false,
                ("get", op.Make("list", $"list{ns}{r.Kind}", null, SchemaWriter.ListName(r), List)),
                ("post", op.Make("post", $"create{ns}{r.Kind}", type, type, Write)),
                ("delete", op.Make("deletecollection", $"deleteCollection{ns}{r.Kind}", Meta + ".DeleteOptions", Meta + ".Status", List)));
            paths[collection + "/{name}"] = Item(d, r.Namespaced, named: true,
                ("get", op.Make("get", $"read{ns}{r.Kind}", null, type, [])),
                ("put", op.Make("put", $"replace{ns}{r.Kind}", type, type, Write)),
                ("patch", op.Make("patch", $"patch{ns}{r.Kind}", Meta + ".Patch", type, [.. Write, "force"])),
                ("delete", op.Make("delete", $"delete{ns}{r.Kind}", Meta + ".DeleteOptions", Meta + ".Status", ["dryRun", "gracePeriodSeconds", "propagationPolicy"])));
            if (r.Namespaced)
                paths[$"{root}/{r.Plural}"] = Item(d, false, named: false,
                    ("get", op.Make("list", $"list{r.Kind}ForAllNamespaces", null, SchemaWriter.ListName(r), List)));
            if (r.HasStatus)
                paths[collection + "/{name}/status"] = Item(d, r.Namespaced, named: true,
                    ("get", op.Make("get", $"read{ns}{r.Kind}Status", null, type, [])),
                    ("put", op.Make("put", $"replace{ns}{r.Kind}Status", type, type, Write)),
                    ("patch", op.Make("patch", $"patch{ns}{r.Kind}Status", Meta + ".Patch", type, [.. Write, "force"])));
            if (r.HasScale)
            {
                var scale = new Builder(r, d, SchemaWriter.Gvk("autoscaling", "v1", "Scale"));
                var scaleType = SchemaWriter.ScaleType.FullName;
                paths[collection + "/{name}/scale"] = Item(d, r.Namespaced, named: true,
                    ("get", scale.Make("get", $"read{ns}{r.Kind}Scale", null, scaleType, [])),
                    ("put", scale.Make("put", $"replace{ns}{r.Kind}Scale", scaleType, scaleType, Write)),
                    ("patch", scale.Make("patch", $"patch{ns}{r.Kind}Scale", Meta + ".Patch", scaleType, [.. Write, "force"])));
            }
        }
        var result = new JsonObject();
        foreach (var (path, item) in paths) result[path] = item;
        return result;
    }

    static readonly string[] Write = ["dryRun", "fieldManager", "fieldValidation"];
    static readonly string[] List = ["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "timeoutSeconds", "watch"];

    static JsonObject Item(Dialect d, bool namespaced, bool named, params (string Method, JsonObject Op)[] ops)
    {
        var item = new JsonObject();
        foreach (var (method, op) in ops) item[method] = op;
        var common = new JsonArray();
        if (named) common.Add((JsonNode)Parameter(d, "name", "path", "The name of the object."));
        if (namespaced) common.Add((JsonNode)Parameter(d, "namespace", "path", "The namespace of the object."));
        if (common.Count > 0) item["parameters"] = common;
        return item;
    }

    static readonly Dictionary<string, string> QueryDocs = new(StringComparer.Ordinal)
    {
        ["dryRun"] = "When All, the request is checked and answered but nothing is stored.",
        ["fieldManager"] = "The name of the actor making the change, recorded in managedFields.",
        ["fieldValidation"] = "Ignore, Warn or Strict: what the server does with unknown or duplicate fields.",
        ["force"] = "For apply patches: take over fields that other managers own.",
        ["gracePeriodSeconds"] = "Seconds before the object is deleted; zero deletes at once.",
        ["propagationPolicy"] = "Orphan, Background or Foreground: what happens to dependents.",
        ["labelSelector"] = "Only objects whose labels match.",
        ["fieldSelector"] = "Only objects whose fields match.",
        ["limit"] = "The most objects to return; the rest can be fetched with continue.",
        ["continue"] = "The token from the previous page.",
        ["resourceVersion"] = "The version of the collection to read or to start watching from.",
        ["timeoutSeconds"] = "How long a list or watch may take.",
        ["watch"] = "Stream changes instead of returning a list.",
    };

    static JsonObject Parameter(Dialect d, string name, string where, string description)
    {
        var type = name is "limit" or "timeoutSeconds" or "gracePeriodSeconds" ? "integer" : name is "watch" or "force" ? "boolean" : "string";
        var p = new JsonObject { ["name"] = name, ["in"] = where, ["description"] = description };
        if (where == "path") p["required"] = true;
        if (d.V3) p["schema"] = new JsonObject { ["type"] = type, ["uniqueItems"] = true };
        else { p["type"] = type; p["uniqueItems"] = true; }
        return p;
    }

    sealed class Builder(ApiResource r, Dialect d, JsonObject gvk)
    {
        public JsonObject Make(string action, string name, string? body, string response, string[] query)
        {
            var op = new JsonObject
            {
                ["description"] = Describe(action),
                ["operationId"] = name.Insert(Verb(name).Length, GroupVersionName()),
                ["tags"] = new JsonArray(GroupVersionName()),
            };
            var parameters = new JsonArray();
            foreach (var q in query) parameters.Add((JsonNode)Parameter(d, q, "query", QueryDocs[q]));
            if (body is not null && !d.V3)
                parameters.Add((JsonNode)new JsonObject { ["in"] = "body", ["name"] = "body", ["required"] = true, ["schema"] = SchemaWriter.Ref(body, d) });
            if (parameters.Count > 0) op["parameters"] = parameters;
            if (body is not null && d.V3)
            {
                var content = new JsonObject();
                foreach (var type in action == "patch" ? PatchTypes : ["*/*"]) content[type] = new JsonObject { ["schema"] = SchemaWriter.Ref(body, d) };
                op["requestBody"] = new JsonObject { ["content"] = content, ["required"] = true };
            }
            var responses = new JsonObject();
            foreach (var code in action switch { "post" => [200, 201, 202], "put" or "patch" => [200, 201], "delete" => [200, 202], _ => new[] { 200 } })
            {
                var text = code switch { 201 => "Created", 202 => "Accepted", _ => "OK" };
                var schema = SchemaWriter.Ref(response, d);
                responses[code.ToString(CultureInfo.InvariantCulture)] = d.V3
                    ? new JsonObject { ["description"] = text, ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = schema } } }
                    : new JsonObject { ["description"] = text, ["schema"] = schema };
            }
            responses["401"] = new JsonObject { ["description"] = "Unauthorized" };
            op["responses"] = responses;
            if (!d.V3)
            {
                op["consumes"] = new JsonArray([.. (action == "patch" ? PatchTypes : ["*/*"]).Select(t => (JsonNode)t)]);
                op["produces"] = new JsonArray("application/json", "application/yaml", "application/vnd.kubernetes.protobuf");
                op["schemes"] = new JsonArray("https");
            }
            op["x-kubernetes-action"] = action;
            op["x-kubernetes-group-version-kind"] = gvk.DeepClone();
            return op;
        }

        static string Verb(string name) => new(name.TakeWhile(char.IsLower).ToArray());

        // Upstream's operation names: listAppsV1NamespacedDeployment, patchNetworkingV1Ingress, readCoreV1Node.
        string GroupVersionName()
        {
            var group = r.Group.Length == 0 ? "core" : r.Group.Split('.')[0];
            return char.ToUpperInvariant(group[0]) + group[1..] + char.ToUpperInvariant(r.Version[0]) + r.Version[1..];
        }

        string Describe(string action) => action switch
        {
            "list" => $"list or watch {r.Kind} objects",
            "post" => $"create a {r.Kind}",
            "deletecollection" => $"delete a collection of {r.Kind} objects",
            "get" => $"read the specified {r.Kind}",
            "put" => $"replace the specified {r.Kind}",
            "patch" => $"partially update the specified {r.Kind}",
            _ => $"delete a {r.Kind}",
        };
    }
}
