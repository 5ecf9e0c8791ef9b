// The OpenAPI documents the server publishes: the v3 index, one v3 document per group/version, and the v2 document.
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Schema;

namespace Appliance.ClusterRuntime.Api.OpenApi;

/// <summary>A serialized document with its content hash (the v3 index's <c>hash</c>, the v2 ETag).</summary>
/// <param name="Body">The UTF-8 JSON, or the protobuf.</param>
/// <param name="Hash">Upper-case hex SHA-512 of <paramref name="Body"/>, as kube-apiserver computes it.</param>
public sealed record ServedDocument(byte[] Body, string Hash)
{
    /// <summary>Serializes and hashes.</summary>
    public static ServedDocument Of(byte[] body) => new(body, Convert.ToHexString(SHA512.HashData(body)));
}

/// <summary>
/// Builds each document once per set of served resources, from <see cref="ResourceTable.Served"/> and
/// <see cref="TypeCatalog"/>: the built-in rows are fixed for the life of the process; when a CRD starts or stops
/// being served (<see cref="CustomResources.CustomResourceRegistry.Changed"/>), the documents are built again, so
/// their hashes change and kubectl fetches them anew.
/// </summary>
public static class OpenApiDocuments
{
    const string Title = "Kubernetes";
    const string Version = "v1.32.0";

    /// <summary>The documents of one set of served resources, each built on first use.</summary>
    sealed class Set
    {
        public readonly Lazy<Dictionary<string, ServedDocument>> V3Docs = new(() =>
            ResourceTable.GroupVersions.ToDictionary(gv => Key(gv.Group, gv.Version), gv => Serialize(V3(gv.Group, gv.Version))));

        public readonly Lazy<ServedDocument> V2Json = new(() => Serialize(V2()));

        public readonly Lazy<ServedDocument> V2Proto = new(() => ServedDocument.Of(GnosticWriter.Document(V2())));
    }

    static Set _current = new();

    static OpenApiDocuments() => CustomResources.CustomResourceRegistry.Changed += () => Volatile.Write(ref _current, new Set());

    static Set Current => Volatile.Read(ref _current);

    /// <summary><c>api/v1</c> or <c>apis/apps/v1</c>: a group/version's path under /openapi/v3.</summary>
    public static string Key(string group, string version) => group.Length == 0 ? $"api/{version}" : $"apis/{group}/{version}";

    /// <summary>GET /openapi/v3: each group/version with the URL of its document, which names the document's hash.</summary>
    public static JsonObject Index()
    {
        var paths = new JsonObject();
        foreach (var (key, doc) in Current.V3Docs.Value.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            paths[key] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{key}?hash={doc.Hash}" };
        return new JsonObject { ["paths"] = paths };
    }

    /// <summary>The v3 document at <paramref name="key"/> (<c>apis/apps/v1</c>), or null when not served.</summary>
    public static ServedDocument? GroupVersion(string key) => Current.V3Docs.Value.GetValueOrDefault(key);

    /// <summary>The v2 document as JSON.</summary>
    public static ServedDocument V2AsJson => Current.V2Json.Value;

    /// <summary>The v2 document as a gnostic openapi_v2.Document protobuf.</summary>
    public static ServedDocument V2AsProtobuf => Current.V2Proto.Value;

    /// <summary>The v3 document of one group/version: its paths and the schemas they reach.</summary>
    public static JsonObject V3(string group, string version)
    {
        var resources = ResourceTable.Served.Where(r => r.Group == group && r.Version == version).ToList();
        var schemas = new JsonObject();
        foreach (var (name, schema) in SchemaWriter.Definitions(resources, Dialect.V3Doc, Operations.Referenced)) schemas[name] = schema;
        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = Title, ["version"] = Version },
            ["paths"] = Operations.Paths(resources, Dialect.V3Doc),
            ["components"] = new JsonObject
            {
                ["schemas"] = schemas,
                ["securitySchemes"] = new JsonObject { ["BearerToken"] = BearerToken() },
            },
        };
    }

    /// <summary>The v2 document: every served path and every definition.</summary>
    public static JsonObject V2()
    {
        var definitions = new JsonObject();
        foreach (var (name, schema) in SchemaWriter.Definitions(ResourceTable.Served, Dialect.V2Doc, Operations.Referenced)) definitions[name] = schema;
        return new JsonObject
        {
            ["swagger"] = "2.0",
            ["info"] = new JsonObject { ["title"] = Title, ["version"] = Version },
            ["paths"] = Operations.Paths(ResourceTable.Served, Dialect.V2Doc),
            ["definitions"] = definitions,
        };
    }

    static JsonObject BearerToken() => new()
    {
        ["description"] = "A bearer token in the Authorization header.", ["in"] = "header", ["name"] = "authorization", ["type"] = "apiKey",
    };

    static ServedDocument Serialize(JsonObject doc) => ServedDocument.Of(System.Text.Encoding.UTF8.GetBytes(doc.ToJsonString()));
}
