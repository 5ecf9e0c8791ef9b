// GET of one object, of a collection (plain list or Table), and of the status and scale subresources.
using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Api.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

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
        HttpIo.TimeoutSeconds(ctx);
        await StreamListAsync(ctx, ri, ListOptionsFrom(ctx, ri.Resource, null), HttpIo.WantsTable(ctx));
    }

    /// <summary>
    /// Streams a list, plain or as a Table, chunk by chunk as <see cref="ObjectStore.ListChunksAsync"/> reads it, so a
    /// request holds one chunk, not the list. A list that fits in one chunk is written as Kubernetes orders it; a
    /// longer one puts <c>metadata</c> after <c>items</c> (or <c>rows</c>), because its <c>continue</c> is only known
    /// at the end.
    /// </summary>
    async Task StreamListAsync(HttpContext ctx, RequestInfo ri, ListOptions options, bool table)
    {
        var ct = ctx.RequestAborted;
        string? includeObject = ctx.Request.Query["includeObject"];
        var now = store.Clock.GetUtcNow();
        long sentRaw = 0;
        Utf8JsonWriter? writer = null;
        bool metadataFirst = false;
        string rv = "";
        string? cont = null;
        var chunks = store.ListChunksAsync(ri.Resource, ri.Namespace, options, raw: !table, ct).GetAsyncEnumerator(ct);
        try
        {
            while (true)
            {
                // A chunk that cannot be read after the first (e.g. compacted meanwhile) throws; HandleAsync then cuts
                // the started response, so the client sees a broken list, never a short one.
                if (!await chunks.MoveNextAsync()) break;
                var (page, last) = chunks.Current;
                cont = page.Continue;
                if (writer is null)
                {
                    rv = page.Revision.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    ctx.Response.StatusCode = 200;
                    ctx.Response.ContentType = "application/json";
                    writer = new Utf8JsonWriter(ctx.Response.BodyWriter, Meta.Writer);
                    writer.WriteStartObject();
                    writer.WriteString("kind", table ? "Table" : ri.Resource.ListKind);
                    writer.WriteString("apiVersion", table ? "meta.k8s.io/v1" : ri.Resource.ApiVersion);
                    metadataFirst = last;
                    if (metadataFirst) WriteListMetadata(writer, rv, cont);
                    if (table)
                    {
                        writer.WritePropertyName("columnDefinitions");
                        TableConverter.ColumnDefinitions(ri.Resource).WriteTo(writer, Meta.Json);
                    }
                    writer.WriteStartArray(table ? "rows" : "items");
                }
                if (page.Raw is { } raw)
                {
                    await writer.FlushAsync(ct);
                    foreach (var item in raw)
                    {
                        if (sentRaw++ > 0) ctx.Response.BodyWriter.Write(","u8);
                        await WriteSlicedAsync(ctx.Response.BodyWriter, item, ct);
                    }
                }
                foreach (var item in table ? TableConverter.Rows(ri.Resource, page.Items, includeObject, now) : page.Items)
                {
                    item.WriteTo(writer, Meta.Json);
                    if (writer.BytesPending > 65536) await writer.FlushAsync(ct);
                }
                await writer.FlushAsync(ct);
            }
            if (writer is null) return;
            writer.WriteEndArray();
            if (!metadataFirst) WriteListMetadata(writer, rv, cont);
            writer.WriteEndObject();
            await writer.FlushAsync(ct);
        }
        finally
        {
            await chunks.DisposeAsync();
            if (writer is not null) await writer.DisposeAsync();
        }
    }

    /// <summary>
    /// Copies stored JSON into the response in 64 KiB slices, flushing each, so the server's output buffers stay small
    /// (one large write would make Kestrel take a buffer as large as the object).
    /// </summary>
    static async Task WriteSlicedAsync(System.IO.Pipelines.PipeWriter body, byte[] item, CancellationToken ct)
    {
        const int Slice = 64 * 1024;
        for (int at = 0; at < item.Length; at += Slice)
        {
            body.Write(item.AsSpan(at, Math.Min(Slice, item.Length - at)));
            await body.FlushAsync(ct);
        }
    }

    static void WriteListMetadata(Utf8JsonWriter writer, string rv, string? cont)
    {
        writer.WriteStartObject("metadata");
        writer.WriteString("resourceVersion", rv);
        if (cont is not null) writer.WriteString("continue", cont);
        writer.WriteEndObject();
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
        var scale = new JsonObject
        {
            ["kind"] = "Scale",
            ["apiVersion"] = "autoscaling/v1",
            ["metadata"] = scaleMeta,
            ["spec"] = new JsonObject { ["replicas"] = Replicas(Field(obj["spec"], "replicas")) },
            ["status"] = status,
        };
        return CustomResources.CustomScale.Of(obj) is { } custom ? custom.Fill(obj, scale) : scale;
    }

    static JsonNode? Field(JsonNode? node, string name) => node is JsonObject o ? o[name] : null;

    static long Replicas(JsonNode? node) => node is JsonValue v && v.TryGetValue<long>(out var n) ? n : 0;

    /// <summary>Applies the replicas of <paramref name="scale"/> to <paramref name="obj"/>, keeping the resourceVersion precondition.</summary>
    public static JsonObject Apply(JsonObject obj, JsonObject scale)
    {
        var replicas = scale["spec"]?["replicas"] ?? throw ApiException.BadRequest("spec.replicas is required in a Scale");
        if (replicas is not JsonValue v || !v.TryGetValue<long>(out var n) || n < 0)
            throw new ApiException(422, "Invalid", "Scale is invalid: spec.replicas: must be a non-negative integer");
        if (CustomResources.CustomScale.Of(obj) is { } custom) custom.SetReplicas(obj, n);
        else if (obj["spec"] is not JsonObject spec) obj["spec"] = new JsonObject { ["replicas"] = n };
        else spec["replicas"] = n;
        var rv = scale["metadata"]?["resourceVersion"]?.GetValue<string>();
        if (!string.IsNullOrEmpty(rv)) Meta.Of(obj)["resourceVersion"] = rv;
        return obj;
    }
}
