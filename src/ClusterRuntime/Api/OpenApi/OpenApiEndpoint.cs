// Serves /openapi/v2 (JSON or gnostic protobuf, with ETag) and /openapi/v3 (index and per-group/version documents).
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Api.OpenApi;

/// <summary>The GET handlers of the OpenAPI documents.</summary>
public static class OpenApiEndpoint
{
    /// <summary>The media type clients ask for the v2 protobuf document with (kubectl 1.32 sends this one).</summary>
    public const string ProtobufV2Accept = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

    /// <summary>
    /// The Content-Type of the v2 protobuf answer, and its newer Accept form: '@' is not allowed in a media type, so
    /// Go's mime parser refuses the old name in a response (kube-apiserver answers with this one too).
    /// </summary>
    public const string ProtobufV2 = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

    /// <summary>Serves the request when its path is an OpenAPI document; false when it is not one.</summary>
    public static async Task<bool> TryServeAsync(HttpContext ctx, string path)
    {
        if (path == "/openapi/v3")
        {
            await HttpIo.WriteAsync(ctx, 200, OpenApiDocuments.Index());
            return true;
        }
        if (path.StartsWith("/openapi/v3/", StringComparison.Ordinal))
        {
            if (OpenApiDocuments.GroupVersion(path["/openapi/v3/".Length..]) is not { } doc) return false;
            // The index names each document by its hash, so a URL with the current hash never changes.
            if (ctx.Request.Query["hash"] == doc.Hash) ctx.Response.Headers.CacheControl = "public, immutable";
            await WriteAsync(ctx, doc, "application/json");
            return true;
        }
        if (path == "/openapi/v2")
        {
            var accept = ctx.Request.Headers.Accept.ToString();
            var proto = accept.Contains(ProtobufV2Accept, StringComparison.Ordinal) || accept.Contains(ProtobufV2, StringComparison.Ordinal);
            ctx.Response.Headers.Vary = "Accept";
            await WriteAsync(ctx, proto ? OpenApiDocuments.V2AsProtobuf : OpenApiDocuments.V2AsJson, proto ? ProtobufV2 : "application/json");
            return true;
        }
        return false;
    }

    static async Task WriteAsync(HttpContext ctx, ServedDocument doc, string contentType)
    {
        var etag = $"\"{doc.Hash}\"";
        ctx.Response.Headers.ETag = etag;
        if (ctx.Request.Headers.IfNoneMatch.Contains(etag))
        {
            ctx.Response.StatusCode = 304;
            return;
        }
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = contentType;
        ctx.Response.ContentLength = doc.Body.Length;
        await ctx.Response.Body.WriteAsync(doc.Body, ctx.RequestAborted);
    }
}
