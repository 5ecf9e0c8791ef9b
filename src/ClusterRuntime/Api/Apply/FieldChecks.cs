// fieldValidation on a request body: unknown fields (not in the type table) and duplicate keys, refused, warned of or dropped.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Schema;
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Api.Apply;

/// <summary>Applies a request's <see cref="FieldValidation"/> to its body.</summary>
public static class FieldChecks
{
    /// <summary>
    /// Drops the fields of <paramref name="obj"/> that <paramref name="type"/> does not declare, then: Strict refuses
    /// the request (400, upstream's strict decoding error) if any were dropped or <paramref name="duplicates"/> is not
    /// empty; Warn adds one <c>Warning</c> header per problem; Ignore says nothing. With <paramref name="patch"/>,
    /// strategic merge directives (<c>$patch</c>, ...) are kept; paths in <paramref name="known"/> are dropped but not reported.
    /// </summary>
    public static void Enforce(HttpContext ctx, FieldValidation directive, ApiResource r, TypeDef type, JsonObject obj,
        IReadOnlyList<string> duplicates, bool patch = false, IReadOnlyCollection<string>? known = null)
    {
        var unknown = SchemaValidator.PruneUnknown(type, obj, patch);
        if (known is not null) unknown.RemoveAll(known.Contains);
        var problems = duplicates.Select(d => $"duplicate field \"{d}\"").Concat(unknown.Select(u => $"unknown field \"{u}\"")).ToList();
        if (problems.Count == 0 || directive == FieldValidation.Ignore) return;
        if (directive == FieldValidation.Strict)
            throw ApiException.BadRequest($"{r.Kind} in version \"{r.Version}\" cannot be handled as a {r.Kind}: strict decoding error: {string.Join(", ", problems)}");
        foreach (var p in problems) Warn(ctx, p);
    }

    /// <summary>Adds one <c>Warning: 299 - "text"</c> header (RFC 7234 §5.5, as kube-apiserver sends them).</summary>
    public static void Warn(HttpContext ctx, string text) =>
        ctx.Response.Headers.Append("Warning", $"299 - \"{text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"");
}
