// Reading request bodies and writing JSON responses.
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Api;

/// <summary>JSON in, JSON out.</summary>
public static class HttpIo
{
    /// <summary>Largest accepted request body (Kubernetes limits objects to about 1.5 MiB in etcd, 3 MiB per request).</summary>
    public const int MaxBody = 3 * 1024 * 1024;

    /// <summary>Writes <paramref name="node"/> as the response body.</summary>
    public static async Task WriteAsync(HttpContext ctx, int code, JsonNode node, string contentType = "application/json")
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = contentType;
        await using (var writer = new Utf8JsonWriter(ctx.Response.BodyWriter, Meta.Writer))
            node.WriteTo(writer, Meta.Json);
        await ctx.Response.BodyWriter.FlushAsync(ctx.RequestAborted);
    }

    /// <summary>Writes an error Status.</summary>
    public static Task WriteErrorAsync(HttpContext ctx, ApiException e) => WriteAsync(ctx, e.Code, e.ToStatus());

    /// <summary>Reads the whole body (400 when too large).</summary>
    public static async Task<byte[]> ReadBodyAsync(HttpContext ctx)
    {
        if (ctx.Request.ContentLength > MaxBody) throw new ApiException(413, "RequestEntityTooLarge", "the request body is too large");
        using var ms = new MemoryStream();
        var buffer = new byte[16384];
        int n;
        while ((n = await ctx.Request.Body.ReadAsync(buffer, ctx.RequestAborted)) > 0)
        {
            ms.Write(buffer, 0, n);
            if (ms.Length > MaxBody) throw new ApiException(413, "RequestEntityTooLarge", "the request body is too large");
        }
        return ms.ToArray();
    }

    /// <summary>Reads the body as a JSON object, refusing media types other than JSON.</summary>
    public static async Task<JsonObject> ReadObjectAsync(HttpContext ctx)
    {
        var type = ctx.Request.ContentType?.Split(';')[0].Trim();
        if (type == "application/vnd.kubernetes.protobuf")
            return Protobuf.ProtobufDecoder.Decode(await ReadBodyAsync(ctx));
        if (type is not (null or "" or "application/json"))
            throw new ApiException(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json (got {type})");
        return Meta.ParseObject(await ReadBodyAsync(ctx), "request body");
    }

    /// <summary>True when the client asked for a meta.k8s.io Table.</summary>
    public static bool WantsTable(HttpContext ctx)
    {
        var accept = ctx.Request.Headers.Accept.ToString();
        if (!accept.Contains("as=Table", StringComparison.Ordinal)) return false;
        foreach (var part in accept.Split(','))
        {
            var p = part.Split(';').Select(s => s.Trim()).ToArray();
            if (p[0] != "application/json") continue;
            if (p.Contains("as=Table") && p.Contains("g=meta.k8s.io") && (p.Contains("v=v1") || p.Contains("v=v1beta1"))) return true;
            if (!p.Any(x => x.StartsWith("as=", StringComparison.Ordinal))) return false;
        }
        return false;
    }
}
