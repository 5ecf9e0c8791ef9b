// PATCH with application/apply-patch+yaml: parse the applied configuration, apply it to the object, or create the object.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Manifests;
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Api.Apply;

/// <summary>Serves server-side apply requests (see README.md).</summary>
public static class ServerSideApply
{
    /// <summary>The media type of an apply patch (its body is YAML, or JSON, which is YAML too).</summary>
    public const string ContentType = "application/apply-patch+yaml";

    /// <summary>
    /// Applies the configuration in <paramref name="raw"/> to <c>ri</c>'s object: 200 with the result, 201 when it was created.
    /// The result goes through the same admission as any other write: <paramref name="admitted"/> wraps the update's transform,
    /// <paramref name="admitCreate"/> checks a new object (escalation prevention, NodeRestriction).
    /// </summary>
    public static async Task ServeAsync(HttpContext ctx, ObjectStore store, RequestInfo ri, byte[] raw, WriteOptions o, FieldManager manager,
        Func<Func<JsonObject, JsonObject>, Func<JsonObject, JsonObject>> admitted, Func<JsonObject, Task> admitCreate)
    {
        if (ri.Subresource is not (null or "status"))
            throw ApiException.MethodNotAllowed($"apply is not supported on the {ri.Subresource} subresource");
        var duplicates = new List<string>();
        var config = Parse(raw, duplicates);
        foreach (var (field, name) in new[] { ("kind", "Kind"), ("apiVersion", "apiVersion") })
            if (config[field] is not JsonValue v || !v.TryGetValue<string>(out var s) || s.Length == 0)
                throw ApiException.BadRequest($"Object '{name}' is missing in '{config.ToJsonString(Meta.Json)}'");
        Validation.CheckTypes(ri.Resource, config);
        FieldChecks.Enforce(ctx, o.Validation, ri.Resource, Schema.TypeCatalog.For(ri.Resource), config, duplicates);

        // The transform may run more than once (a concurrent write retries it); the hook stores the last run's managedFields,
        // which the status subresource's write would otherwise take from the stored object.
        JsonNode? managed = null;
        var hooks = new WriteHooks(o.DryRun, (_, obj) => Meta.Of(obj)["managedFields"] = managed?.DeepClone());
        try
        {
            var result = await store.UpdateAsync(ri.Resource, ri.Namespace, ri.Name!, admitted(cur =>
            {
                var merged = manager.Apply(cur, config, o.Force);
                managed = Meta.Of(merged)["managedFields"]?.DeepClone();
                return merged;
            }), ri.Subresource == "status", ctx.RequestAborted, hooks);
            await HttpIo.WriteAsync(ctx, 200, result);
        }
        catch (ApiException e) when (e.Code == 404 && ri.Subresource is null && e.Details?["name"]?.GetValue<string>() == ri.Name)
        {
            var created = manager.Apply(null, config, o.Force);
            managed = Meta.Of(created)["managedFields"]?.DeepClone();
            if (string.IsNullOrEmpty(Meta.Name(created))) Meta.Of(created)["name"] = ri.Name;
            else if (Meta.Name(created) != ri.Name)
                throw ApiException.BadRequest($"the name of the object ({Meta.Name(created)}) does not match the name on the URL ({ri.Name})");
            await admitCreate(created);
            await HttpIo.WriteAsync(ctx, 201, await store.CreateAsync(ri.Resource, ri.Namespace, created, ctx.RequestAborted, hooks));
        }
    }

    /// <summary>The applied configuration: one YAML document (JSON is read as JSON, for exact numbers); keys given twice go to <paramref name="duplicates"/>.</summary>
    static JsonObject Parse(byte[] raw, List<string> duplicates)
    {
        var text = System.Text.Encoding.UTF8.GetString(raw).TrimStart();
        if (text.StartsWith('{')) return Meta.ParseObject(raw, "apply patch", duplicates);
        List<JsonObject> docs;
        try { docs = ManifestReader.Read(text, json: false, duplicates); }
        catch (InvalidDataException e) { throw ApiException.BadRequest($"error decoding YAML: {e.Message}"); }
        return docs.Count == 1 ? docs[0] : throw ApiException.BadRequest($"an apply patch must hold exactly one object, not {docs.Count}");
    }
}
