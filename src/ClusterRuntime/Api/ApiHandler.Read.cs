// GET of one object, of a collection (plain list or Table), and of the status and scale subresources.
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Api.Tables;
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Api;

public sealed partial class ApiHandler
{
    async Task GetAsync(HttpContext ctx, RequestInfo ri)
    {
        var obj = await store.GetAsync(ri.Resource, ri.Namespace, ri.Name!, ctx.Request.Query["resourceVersion"], ctx.RequestAborted);
        if (ri.Subresource == "scale")
        {
            await HttpIo.WriteAsync(ctx, 200, Scale.From(obj));
            return;
        }
        if (HttpIo.WantsTable(ctx))
        {
            var table = TableConverter.ToTable(ri.Resource, [obj], Meta.Str(obj, "resourceVersion"), null, ctx.Request.Query["includeObject"], store.Clock.GetUtcNow());
            await HttpIo.WriteAsync(ctx, 200, table);
            return;
        }
        await HttpIo.WriteAsync(ctx, 200, obj);
    }

    async Task ListAsync(HttpContext ctx, RequestInfo ri)
    {
        bool asTable = HttpIo.WantsTable(ctx);
        HttpIo.TimeoutSeconds(ctx);
        var page = await store.ListAsync(ri.Resource, ri.Namespace, ListOptionsFrom(ctx, ri.Resource, null), ctx.RequestAborted, raw: !asTable);
        var rv = page.Revision.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (asTable)
        {
            var table = TableConverter.ToTable(ri.Resource, page.Items, rv, page.Continue, ctx.Request.Query["includeObject"], store.Clock.GetUtcNow());
            await HttpIo.WriteAsync(ctx, 200, table);
            return;
        }
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(ctx.Response.BodyWriter, Meta.Writer);
        writer.WriteStartObject();
        writer.WriteString("kind", ri.Resource.ListKind);
        writer.WriteString("apiVersion", ri.Resource.ApiVersion);
        writer.WriteStartObject("metadata");
        writer.WriteString("resourceVersion", rv);
        if (page.Continue is not null) writer.WriteString("continue", page.Continue);
        writer.WriteEndObject();
        writer.WriteStartArray("items");
        if (page.Raw is { } raw)
        {
            foreach (var item in raw)
            {
                writer.WriteRawValue(item, skipInputValidation: true);
                if (writer.BytesPending > 65536) await writer.FlushAsync(ctx.RequestAborted);
            }
        }
        foreach (var item in page.Items)
        {
            item.WriteTo(writer, Meta.Json);
            if (writer.BytesPending > 65536) await writer.FlushAsync(ctx.RequestAborted);
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
        await writer.FlushAsync(ctx.RequestAborted);
    }
}

/// <summary>The autoscaling/v1 Scale view of workloads with replicas.</summary>
public static class Scale
{
    /// <summary>The Scale of <paramref name="obj"/>.</summary>
    public static JsonObject From(JsonObject obj)
    {
        var meta = Meta.Of(obj);
        var scaleMeta = new JsonObject();
        foreach (var f in new[] { "name", "namespace", "uid", "resourceVersion", "creationTimestamp" })
            if (meta[f] is { } v) scaleMeta[f] = v.DeepClone();
        // Read defensively: an object stored before types were checked may hold anything.
        var status = new JsonObject { ["replicas"] = Replicas(Field(obj["status"], "replicas")) };
        if (Field(Field(obj["spec"], "selector"), "matchLabels") is JsonObject ml)
            status["selector"] = string.Join(",", ml.Select(kv => $"{kv.Key}={(kv.Value is JsonValue v && v.TryGetValue<string>(out var s) ? s : "")}"));
        return new JsonObject
        {
            ["kind"] = "Scale",
            ["apiVersion"] = "autoscaling/v1",
            ["metadata"] = scaleMeta,
            ["spec"] = new JsonObject { ["replicas"] = Replicas(Field(obj["spec"], "replicas")) },
            ["status"] = status,
        };
    }

    static JsonNode? Field(JsonNode? node, string name) => node is JsonObject o ? o[name] : null;

    static long Replicas(JsonNode? node) => node is JsonValue v && v.TryGetValue<long>(out var n) ? n : 0;

    /// <summary>Applies the replicas of <paramref name="scale"/> to <paramref name="obj"/>, keeping the resourceVersion precondition.</summary>
    public static JsonObject Apply(JsonObject obj, JsonObject scale)
    {
        var replicas = scale["spec"]?["replicas"] ?? throw ApiException.BadRequest("spec.replicas is required in a Scale");
        if (replicas is not JsonValue v || !v.TryGetValue<long>(out var n) || n < 0)
            throw new ApiException(422, "Invalid", "Scale is invalid: spec.replicas: must be a non-negative integer");
        if (obj["spec"] is not JsonObject spec) obj["spec"] = spec = new JsonObject();
        spec["replicas"] = n;
        var rv = scale["metadata"]?["resourceVersion"]?.GetValue<string>();
        if (!string.IsNullOrEmpty(rv)) Meta.Of(obj)["resourceVersion"] = rv;
        return obj;
    }
}
