// Parses a resource URL (/api/v1/namespaces/ns/configmaps/name/status, /apis/apps/v1/watch/...) into its parts.
namespace Appliance.ClusterRuntime.Api;

/// <summary>What a resource request addresses.</summary>
/// <param name="Resource">The resource type.</param>
/// <param name="Namespace">The namespace, or null for cluster scope / all namespaces.</param>
/// <param name="Name">The object name, or null for the collection.</param>
/// <param name="Subresource">status, scale, finalize, binding, log, exec, token, or null.</param>
/// <param name="LegacyWatch">True for the deprecated /watch/ path prefix.</param>
public sealed record RequestInfo(ApiResource Resource, string? Namespace, string? Name, string? Subresource, bool LegacyWatch)
{
    /// <summary>Parses <paramref name="path"/>; returns null when it is not a resource path (discovery or unknown).</summary>
    /// <exception cref="ApiException">404 for an unknown resource in a served group.</exception>
    public static RequestInfo? Parse(string path)
    {
        var seg = path.Trim('/').Split('/');
        string group, version;
        int i;
        if (seg.Length >= 3 && seg[0] == "api") { group = ""; version = seg[1]; i = 2; }
        else if (seg.Length >= 4 && seg[0] == "apis") { group = seg[1]; version = seg[2]; i = 3; }
        else return null;
        if (!ResourceTable.HasGroupVersion(group, version)) return null;
        bool watch = false;
        if (seg[i] == "watch") { watch = true; i++; }
        var rest = seg[i..];
        if (rest.Length == 0) return null;
        string? ns = null;
        if (rest[0] == "namespaces" && rest.Length >= 3 && ResourceTable.Find(group, version, rest[2]) is { Namespaced: true })
        {
            ns = rest[1];
            rest = rest[2..];
        }
        var r = ResourceTable.Find(group, version, rest[0]) ?? throw new ApiException(404, "NotFound", "the server could not find the requested resource");
        if (ns is null && r.Namespaced && rest.Length > 1)
            throw new ApiException(404, "NotFound", "the server could not find the requested resource");
        var name = rest.Length > 1 ? rest[1] : null;
        var sub = rest.Length > 2 ? rest[2] : null;
        if (rest.Length > 3) throw new ApiException(404, "NotFound", "the server could not find the requested resource");
        if (sub is not null && !(sub == "status" && r.HasStatus) && !(sub == "scale" && r.HasScale) && !(sub == "finalize" && r.Kind == "Namespace")
            && !(sub is "binding" or "log" or "exec" or "attach" or "portforward" && r.Kind == "Pod" && r.Group.Length == 0)
            && !(sub == "token" && r.Kind == "ServiceAccount"))
            throw new ApiException(404, "NotFound", "the server could not find the requested resource");
        return new RequestInfo(r, ns, name is null ? null : Uri.UnescapeDataString(name), sub, watch);
    }
}
