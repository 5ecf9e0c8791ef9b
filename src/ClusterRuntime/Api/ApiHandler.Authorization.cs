// Where requests meet authorization: the check after authentication, impersonation, the review endpoints, and the admission of written objects.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Auth;
using Appliance.ClusterRuntime.Auth.Node;
using Appliance.ClusterRuntime.Auth.Rbac;
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Api;

public sealed partial class ApiHandler
{
    /// <summary>The authorization chain (join token, system:masters, Node, RBAC).</summary>
    public required Authorizer Authorizer { get; init; }

    /// <summary>The user a request runs as (after impersonation), set once it is authorized.</summary>
    static UserInfo UserOf(HttpContext ctx) => (UserInfo)ctx.Items[typeof(UserInfo)]!;

    /// <summary>
    /// Impersonation, then the authorization of the request (403 with upstream's message when refused), then for node
    /// identities the NodeRestriction checks that need only the stored object. Returns the user the request runs as.
    /// </summary>
    async Task<UserInfo> AuthorizeAsync(HttpContext ctx, UserInfo user, RequestInfo? ri)
    {
        user = await Impersonation.ApplyAsync(ctx, user, Authorizer);
        ctx.Items[typeof(UserInfo)] = user;
        var path = ctx.Request.Path.Value ?? "/";
        if (ri is null)
        {
            await Authorizer.CheckAsync(RequestAttributes.ForPath(user, ctx.Request.Method, path));
            return user;
        }
        var q = ctx.Request.Query;
        bool watch = ri.LegacyWatch || q["watch"] is var w && (w == "1" || w == "true");
        var a = RequestAttributes.ForResource(user, ctx.Request.Method, path, ri, watch, q["fieldSelector"]);
        await Authorizer.CheckAsync(a);
        if (NodeAuthorizer.NodeName(user) is { } node)
        {
            var pod = ri.Resource.Kind == "Pod" && ri.Resource.Group.Length == 0 && ri.Name is not null
                ? (await store.TryGetAsync(ri.Resource, ri.Namespace, ri.Name, ctx.RequestAborted)).Obj : null;
            NodeRestriction.CheckTarget(node, a, pod);
        }
        return user;
    }

    /// <summary>The admission of an object about to be created; a binding's role is read from the store.</summary>
    async Task AdmitCreateAsync(HttpContext ctx, RequestInfo ri, JsonObject body)
    {
        List<PolicyRule>? referenced = null;
        if (ri.Resource.Group == RbacAuthorizer.Group && ri.Resource.Kind.EndsWith("Binding", StringComparison.Ordinal)
            && body["roleRef"] is JsonObject roleRef && roleRef["name"]?.ToString() is { Length: > 0 } role)
        {
            var kind = roleRef["kind"]?.ToString();
            var (_, stored) = kind == "ClusterRole" ? await store.TryGetAsync(RbacAuthorizer.ClusterRoles, null, role, ctx.RequestAborted)
                : kind == "Role" && ri.Namespace is not null ? await store.TryGetAsync(RbacAuthorizer.Roles, ri.Namespace, role, ctx.RequestAborted)
                : (null, null);
            if (stored is not null) referenced = PolicyRule.RulesOf(stored);
        }
        Admit(ctx, ri, body, null, referenced);
    }

    /// <summary>The admission of an object about to be written: escalation prevention for RBAC objects, NodeRestriction for nodes.</summary>
    void Admit(HttpContext ctx, RequestInfo ri, JsonObject next, JsonObject? current, List<PolicyRule>? referenced = null)
    {
        var user = UserOf(ctx);
        new EscalationCheck(Authorizer).Check(user, ri.Resource, ri.Namespace, next, referenced);
        if (NodeAuthorizer.NodeName(user) is { } node)
        {
            var a = RequestAttributes.ForResource(user, ctx.Request.Method, ctx.Request.Path.Value ?? "/", ri, false, null);
            NodeRestriction.CheckWrite(node, a, next, current);
        }
    }

    /// <summary>
    /// <paramref name="transform"/>, with its result admitted against the object it replaces; unchanged when no
    /// admission applies (only a node writing a Node needs the object as it was, so only then is it copied).
    /// </summary>
    Func<JsonObject, JsonObject> Admitted(HttpContext ctx, RequestInfo ri, Func<JsonObject, JsonObject> transform)
    {
        var node = NodeAuthorizer.NodeName(UserOf(ctx)) is not null;
        if (ri.Resource.Group != RbacAuthorizer.Group && !node) return transform;
        return current =>
        {
            var before = node && ri.Resource.Kind == "Node" ? current.DeepClone().AsObject() : current;
            var next = transform(current);
            Admit(ctx, ri, next, before);
            return next;
        };
    }
}
