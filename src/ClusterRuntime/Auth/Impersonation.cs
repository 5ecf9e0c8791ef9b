// Impersonation: Impersonate-User / -Group / -Uid headers, each authorized by the impersonate verb.
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Auth.Rbac;
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Auth;

/// <summary>
/// As upstream's impersonation filter: a request with <c>Impersonate-User</c> (and optionally
/// <c>Impersonate-Group</c>, repeated, and <c>Impersonate-Uid</c>) runs as that user if the authenticated user may
/// <c>impersonate</c> each part: <c>users</c> by name (or <c>serviceaccounts</c> in its namespace for
/// <c>system:serviceaccount:NS:NAME</c>), <c>groups</c> by name, and <c>uids</c> in <c>authentication.k8s.io</c>.
/// A service account impersonated without groups gets its service-account groups; every impersonated user is in
/// <c>system:authenticated</c>. <c>Impersonate-Extra-*</c> is refused (this server keeps no user extras).
/// </summary>
public static class Impersonation
{
    /// <summary>The user the request runs as: <paramref name="user"/>, or whom it impersonates.</summary>
    /// <exception cref="ApiException">400 for groups without a user, 403 when an impersonation is not allowed.</exception>
    public static async ValueTask<UserInfo> ApplyAsync(HttpContext ctx, UserInfo user, Authorizer authorizer)
    {
        var headers = ctx.Request.Headers;
        var name = headers["Impersonate-User"].ToString();
        var groups = headers["Impersonate-Group"].Where(g => !string.IsNullOrEmpty(g)).Select(g => g!).ToList();
        var uid = headers["Impersonate-Uid"].ToString();
        bool extra = headers.Keys.Any(k => k.StartsWith("Impersonate-Extra-", StringComparison.OrdinalIgnoreCase));
        if (name.Length == 0)
        {
            if (groups.Count > 0 || uid.Length > 0 || extra)
                throw ApiException.BadRequest("requested impersonation of groups, uid or extra fields without impersonating a user");
            return user;
        }
        if (extra) throw ApiException.BadRequest("Impersonate-Extra-* is not supported by this server");
        var path = ctx.Request.Path.Value ?? "/";
        if (name.StartsWith("system:serviceaccount:", StringComparison.Ordinal) && name.Split(':') is [_, _, var ns, var sa])
        {
            await CheckAsync(authorizer, new RequestAttributes(user, "impersonate", true, path, "", "v1", "serviceaccounts", "", ns, sa));
            if (groups.Count == 0) groups = ["system:serviceaccounts", "system:serviceaccounts:" + ns];
        }
        else await CheckAsync(authorizer, new RequestAttributes(user, "impersonate", true, path, "", "v1", "users", "", "", name));
        foreach (var g in groups) await CheckAsync(authorizer, new RequestAttributes(user, "impersonate", true, path, "", "v1", "groups", "", "", g));
        if (uid.Length > 0) await CheckAsync(authorizer, new RequestAttributes(user, "impersonate", true, path, "authentication.k8s.io", "v1", "uids", "", "", uid));
        if (!groups.Contains(BootstrapPolicy.Authenticated)) groups.Add(BootstrapPolicy.Authenticated);
        return new UserInfo(name, groups);
    }

    static ValueTask CheckAsync(Authorizer authorizer, RequestAttributes a) => authorizer.CheckAsync(a);
}
