// What one request asks to do, in the terms authorizers decide on (upstream's authorizer.Attributes).
using Appliance.ClusterRuntime.Api;

namespace Appliance.ClusterRuntime.Auth;

/// <summary>
/// A request as an authorizer sees it. A resource request names verb, API group, resource, subresource, namespace and
/// name; any other request is a path with a verb (the lowercase HTTP method).
/// </summary>
/// <param name="User">Who asks.</param>
/// <param name="Verb">get, list, watch, create, update, patch, delete, deletecollection, impersonate, ...; for a non-resource request the lowercase HTTP method.</param>
/// <param name="IsResourceRequest">False for paths such as <c>/healthz</c> or <c>/apis</c>.</param>
/// <param name="Path">The URL path.</param>
/// <param name="ApiGroup">The API group ("" for core).</param>
/// <param name="ApiVersion">The API version.</param>
/// <param name="Resource">The resource plural, e.g. <c>pods</c>.</param>
/// <param name="Subresource">The subresource, e.g. <c>status</c> or <c>log</c>, or "".</param>
/// <param name="Namespace">The namespace, or "" at cluster scope.</param>
/// <param name="Name">The object name, or "" for a collection.</param>
public sealed record RequestAttributes(UserInfo User, string Verb, bool IsResourceRequest, string Path,
    string ApiGroup = "", string ApiVersion = "", string Resource = "", string Subresource = "", string Namespace = "", string Name = "")
{
    /// <summary>A non-resource request: <paramref name="method"/> on <paramref name="path"/>.</summary>
    public static RequestAttributes ForPath(UserInfo user, string method, string path) => new(user, method.ToLowerInvariant(), false, path);

    /// <summary>
    /// The attributes of a resource request, as upstream's RequestInfo derives them: GET is get, list (no name) or watch,
    /// POST create, PUT update, PATCH patch, DELETE delete or deletecollection. A list or watch narrowed by
    /// <c>fieldSelector=metadata.name=X</c> names X; a namespace's own URL is in that namespace. The streaming
    /// subresources (exec, attach, portforward) are <c>create</c> whatever the method, because a WebSocket upgrade is a
    /// GET that runs a command all the same.
    /// </summary>
    public static RequestAttributes ForResource(UserInfo user, string method, string path, RequestInfo ri, bool watch, string? fieldSelector)
    {
        var r = ri.Resource;
        var name = ri.Name ?? "";
        string verb = method switch
        {
            "GET" or "HEAD" when watch => "watch",
            "GET" or "HEAD" when ri.Name is null => "list",
            "GET" or "HEAD" => "get",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" when ri.Name is null => "deletecollection",
            "DELETE" => "delete",
            _ => method.ToLowerInvariant(),
        };
        if (ri.Subresource is "exec" or "attach" or "portforward") verb = "create";
        if (name.Length == 0 && verb is "list" or "watch" && fieldSelector is { Length: > 0 })
            foreach (var term in fieldSelector.Split(','))
                if (term.StartsWith("metadata.name==", StringComparison.Ordinal)) name = term["metadata.name==".Length..];
                else if (term.StartsWith("metadata.name=", StringComparison.Ordinal)) name = term["metadata.name=".Length..];
        var ns = ri.Namespace ?? "";
        if (r.Kind == "Namespace" && r.Group.Length == 0 && ri.Name is not null) ns = ri.Name;
        return new(user, verb, true, path, r.Group, r.Version, r.Plural, ri.Subresource ?? "", ns, name);
    }

    /// <summary><c>pods</c> or <c>pods/log</c>: the resource as rules name it.</summary>
    public string CombinedResource => Subresource.Length == 0 ? Resource : Resource + "/" + Subresource;
}
