// Reading request bodies and writing JSON responses.
using System.Globalization;
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

    /// <summary>Reads the whole body (413 when larger than <see cref="MaxBody"/>, whether it has a Content-Length or is chunked).</summary>
    public static async Task<byte[]> ReadBodyAsync(HttpContext ctx)
    {
        if (ctx.Request.ContentLength > MaxBody) throw TooLarge();
        using var ms = new MemoryStream();
        var buffer = new byte[16384];
        int n;
        while (true)
        {
            try
            {
                n = await ctx.Request.Body.ReadAsync(buffer, ctx.RequestAborted);
            }
            catch (BadHttpRequestException e)
            {
                // Kestrel's own limit (MaxRequestBodySize = MaxBody) ends a chunked body that runs past it.
                throw e.StatusCode == 413 ? TooLarge() : ApiException.BadRequest("the request body could not be read: " + e.Message);
            }
            if (n == 0) break;
            ms.Write(buffer, 0, n);
            if (ms.Length > MaxBody) throw TooLarge();
        }
        return ms.ToArray();
    }

    static ApiException TooLarge() =>
        new(413, "RequestEntityTooLarge", $"the request body is too large: the limit is {MaxBody} bytes");

    /// <summary>Longer timeouts are cut to this (24 days: a cancellation timer cannot run longer).</summary>
    const long MaxTimeoutSeconds = 24 * 24 * 3600;

    /// <summary>
    /// The <c>timeoutSeconds</c> query parameter of a list or watch: null when absent or 0, 400 when it is not a
    /// non-negative integer.
    /// </summary>
    public static TimeSpan? TimeoutSeconds(HttpContext ctx)
    {
        if (!ctx.Request.Query.TryGetValue("timeoutSeconds", out var text) || string.IsNullOrEmpty(text)) return null;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            throw ApiException.BadRequest($"timeoutSeconds: invalid value \"{text}\": must be a non-negative integer");
        return seconds == 0 ? null : TimeSpan.FromSeconds(Math.Min(seconds, MaxTimeoutSeconds));
    }

    /// <summary>
    /// Reads the body as a JSON object, refusing media types other than JSON; with <paramref name="duplicates"/>, keys
    /// given twice are listed there (the last wins) instead of being a 400.
    /// </summary>
    public static async Task<JsonObject> ReadObjectAsync(HttpContext ctx, List<string>? duplicates = null)
    {
        var type = ctx.Request.ContentType?.Split(';')[0].Trim();
        if (type == "application/vnd.kubernetes.protobuf")
            return Protobuf.ProtobufDecoder.Decode(await ReadBodyAsync(ctx));
        if (type is not (null or "" or "application/json"))
            throw new ApiException(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json (got {type})");
        return Meta.ParseObject(await ReadBodyAsync(ctx), "request body", duplicates);
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
