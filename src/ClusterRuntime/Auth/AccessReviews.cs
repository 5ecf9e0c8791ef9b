// authorization.k8s.io/v1: SelfSubjectAccessReview, SubjectAccessReview, LocalSubjectAccessReview, SelfSubjectRulesReview.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Auth.Rbac;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Auth;

/// <summary>
/// The review resources <c>kubectl auth can-i</c> uses. Each is create-only and never stored: the answer is the request
/// with its <c>status</c> filled in. Access reviews ask the whole authorization chain; the rules review lists the RBAC
/// rules that apply in a namespace (as upstream, node-authorizer grants are not listed, so it says
/// <c>incomplete</c> for node identities). Creating a review is itself authorized like any create.
/// </summary>
public sealed class AccessReviews(Authorizer authorizer)
{
    /// <summary>The group and version served.</summary>
    public const string Group = "authorization.k8s.io", Version = "v1";

    const string Prefix = "/apis/" + Group + "/" + Version + "/";

    /// <summary>True for a path of this group.</summary>
    public static bool Handles(string path) => path.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>Answers one review request.</summary>
    public async Task HandleAsync(HttpContext ctx, UserInfo user)
    {
        var path = ctx.Request.Path.Value ?? "/";
        var seg = path[Prefix.Length..].Trim('/').Split('/');
        string? ns = null;
        if (seg is ["namespaces", var n, ..]) { ns = n; seg = seg[2..]; }
        var resource = seg is [var r] ? r : "";
        var known = (resource, ns is null) is ("selfsubjectaccessreviews", true) or ("selfsubjectrulesreviews", true) or ("subjectaccessreviews", true) or ("localsubjectaccessreviews", false);
        if (!known) throw new ApiException(404, "NotFound", "the server could not find the requested resource");
        var verb = ctx.Request.Method == "POST" ? "create" : ctx.Request.Method.ToLowerInvariant();
        await authorizer.CheckAsync(new RequestAttributes(user, verb, true, path, Group, Version, resource, "", ns ?? "", ""));
        if (verb != "create") throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource ({ctx.Request.Method})");
        var body = await HttpIo.ReadObjectAsync(ctx);
        var spec = body["spec"] as JsonObject ?? throw ApiException.Invalid(Group, Kind(resource), "", [("spec", "Required value")]);
        body["status"] = resource switch
        {
            "selfsubjectaccessreviews" => Access(user, spec, null),
            "selfsubjectrulesreviews" => Rules(user, spec),
            "subjectaccessreviews" => Access(Subject(spec, resource), spec, null),
            _ => Access(Subject(spec, resource), spec, ns),
        };
        body["apiVersion"] = Group + "/" + Version;
        body["kind"] = Kind(resource);
        await HttpIo.WriteAsync(ctx, 201, body);
    }

    static string Kind(string resource) => resource switch
    {
        "selfsubjectaccessreviews" => "SelfSubjectAccessReview",
        "selfsubjectrulesreviews" => "SelfSubjectRulesReview",
        "subjectaccessreviews" => "SubjectAccessReview",
        _ => "LocalSubjectAccessReview",
    };

    static UserInfo Subject(JsonObject spec, string resource)
    {
        var user = Obj.Str(spec, "user") ?? "";
        var groups = Obj.At(spec, "groups") is JsonArray a ? a.Select(g => g?.ToString() ?? "").ToList() : [];
        if (user.Length == 0 && groups.Count == 0) throw ApiException.Invalid(Group, Kind(resource), "", [("spec.user", "Invalid value: \"\": at least one of user or group must be specified")]);
        return new UserInfo(user, groups);
    }

    JsonObject Access(UserInfo user, JsonObject spec, string? localNs)
    {
        RequestAttributes a;
        if (spec["resourceAttributes"] is JsonObject ra)
        {
            var ns = Obj.Str(ra, "namespace") ?? "";
            if (localNs is not null && ns != localNs)
                throw ApiException.Invalid(Group, "LocalSubjectAccessReview", "", [("spec.resourceAttributes.namespace", $"Invalid value: \"{ns}\": must match metadata.namespace")]);
            a = new RequestAttributes(user, Obj.Str(ra, "verb") ?? "", true, "", Obj.Str(ra, "group") ?? "", Obj.Str(ra, "version") ?? "",
                Obj.Str(ra, "resource") ?? "", Obj.Str(ra, "subresource") ?? "", ns, Obj.Str(ra, "name") ?? "");
        }
        else if (spec["nonResourceAttributes"] is JsonObject nra)
            a = RequestAttributes.ForPath(user, Obj.Str(nra, "verb") ?? "", Obj.Str(nra, "path") ?? "");
        else throw ApiException.Invalid(Group, "SubjectAccessReview", "", [("spec.resourceAttributes", "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified")]);
        var d = authorizer.Authorize(a);
        var status = new JsonObject { ["allowed"] = d.Allowed };
        if (d.Reason.Length > 0) status["reason"] = d.Reason;
        return status;
    }

    JsonObject Rules(UserInfo user, JsonObject spec)
    {
        var ns = Obj.Str(spec, "namespace") ?? "";
        var rules = user.Groups.Contains(BootstrapPolicy.Masters)
            ? [PolicyRule.For(["*"], ["*"], "*"), PolicyRule.ForUrls(["*"], "*")]
            : authorizer.Rbac.RulesFor(user, ns).ToList();
        var resourceRules = new JsonArray();
        var nonResourceRules = new JsonArray();
        foreach (var r in rules)
        {
            if (r.NonResourceUrls.Length > 0) nonResourceRules.Add((JsonNode)PolicyRule.ForUrls(r.Verbs, r.NonResourceUrls).ToJson());
            if (r.Resources.Length > 0) resourceRules.Add((JsonNode)(r with { NonResourceUrls = [] }).ToJson());
        }
        return new JsonObject
        {
            ["resourceRules"] = resourceRules,
            ["nonResourceRules"] = nonResourceRules,
            ["incomplete"] = Node.NodeAuthorizer.NodeName(user) is not null,
        };
    }
}
