// POST serviceaccounts/NAME/token (authentication.k8s.io/v1 TokenRequest), and the OIDC discovery documents.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Auth;
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Api.ServiceAccounts;

/// <summary>
/// The TokenRequest subresource as kube-apiserver serves it: audiences default to the API server's, expirationSeconds
/// to 3600 (at least 600, at most 2^32), an optional boundObjectRef to a Pod (running as this ServiceAccount) or a
/// Secret; the answer is the TokenRequest with <c>status.token</c> and <c>status.expirationTimestamp</c>.
/// Also serves <c>/.well-known/openid-configuration</c> and <c>/openid/v1/jwks</c> to authenticated users.
/// </summary>
public sealed class TokenRequestEndpoint(ObjectStore store, ServiceAccountTokens tokens)
{
    const string Group = "authentication.k8s.io";
    const string ApiVersion = Group + "/v1";

    /// <summary>Upstream's default token lifetime, one hour.</summary>
    public const long DefaultExpirationSeconds = 3600;

    /// <summary>The shortest lifetime a TokenRequest may ask for, ten minutes.</summary>
    public const long MinExpirationSeconds = 600;

    static readonly Schema.TypeDef TokenRequestType = Schema.TypeCatalog.Get("io.k8s.api.authentication.v1.TokenRequest");
    static readonly ApiResource ServiceAccounts = ResourceTable.Find("", "v1", "serviceaccounts")!;
    static readonly ApiResource Pods = ResourceTable.Find("", "v1", "pods")!;
    static readonly ApiResource Secrets = ResourceTable.Find("", "v1", "secrets")!;

    /// <summary>True for the paths any authenticated user may use: SelfSubjectReview and the issuer's OIDC documents.</summary>
    public static bool ForEveryUser(string? path) =>
        path is "/apis/authentication.k8s.io/v1/selfsubjectreviews" or "/.well-known/openid-configuration" or "/openid/v1/jwks";

    /// <summary>
    /// True (and answered) for the OIDC discovery paths and the authentication.k8s.io/v1 reviews (served without a
    /// discovery entry: <c>kubectl auth whoami</c> posts its SelfSubjectReview without asking discovery first).
    /// </summary>
    public async Task<bool> TryServeAsync(HttpContext ctx, UserInfo user)
    {
        var path = ctx.Request.Path.Value;
        if (path is "/apis/authentication.k8s.io/v1/selfsubjectreviews" or "/apis/authentication.k8s.io/v1/tokenreviews")
        {
            if (ctx.Request.Method != "POST") throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource ({ctx.Request.Method})");
            await HttpIo.WriteAsync(ctx, 201, path.EndsWith("/selfsubjectreviews", StringComparison.Ordinal)
                ? AuthenticationReviews.SelfSubjectReview(user, Meta.Time(tokens.Clock.GetUtcNow()))
                : await AuthenticationReviews.TokenReviewAsync(tokens, await HttpIo.ReadObjectAsync(ctx), ctx.RequestAborted));
            return true;
        }
        if (path is not ("/.well-known/openid-configuration" or "/openid/v1/jwks")) return false;
        if (ctx.Request.Method != "GET") throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource ({ctx.Request.Method})");
        if (path == "/openid/v1/jwks") await HttpIo.WriteAsync(ctx, 200, tokens.Jwks(), "application/jwk-set+json");
        else await HttpIo.WriteAsync(ctx, 200, tokens.OpenIdConfiguration($"https://{ctx.Request.Host}/openid/v1/jwks"));
        return true;
    }

    /// <summary>POST <c>/api/v1/namespaces/NS/serviceaccounts/NAME/token</c>: 201 with the issued token.</summary>
    public async Task ServeAsync(HttpContext ctx, string ns, string name)
    {
        if (ctx.Request.Method != "POST") throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource ({ctx.Request.Method})");
        var body = await HttpIo.ReadObjectAsync(ctx);
        Validation.CheckTypes(TokenRequestType, body, Group);
        if (body["apiVersion"] is JsonValue v && v.GetValue<string>() is { Length: > 0 } av && av != ApiVersion)
            throw ApiException.BadRequest($"the body of a serviceaccounts/token request must be a TokenRequest of {ApiVersion}, not {av}");
        var meta = body["metadata"] as JsonObject ?? [];
        if (meta["name"] is JsonValue bn && bn.GetValue<string>() is { Length: > 0 } bodyName && bodyName != name)
            throw Invalid(name, "metadata.name", $"Invalid value: \"{bodyName}\": must match the service account name if specified");
        if (meta["namespace"] is JsonValue bns && bns.GetValue<string>() is { Length: > 0 } bodyNs && bodyNs != ns)
            throw Invalid(name, "metadata.namespace", $"Invalid value: \"{bodyNs}\": must match the service account namespace if specified");
        var spec = body["spec"] as JsonObject ?? [];
        var seconds = spec["expirationSeconds"] is JsonValue e && e.TryGetValue<long>(out var s) && s != 0 ? s : DefaultExpirationSeconds;
        if (seconds < MinExpirationSeconds) throw Invalid(name, "spec.expirationSeconds", $"Invalid value: {seconds}: may not specify a duration less than 10 minutes");
        if (seconds > 1L << 32) throw Invalid(name, "spec.expirationSeconds", $"Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds");
        var audiences = (spec["audiences"] as JsonArray ?? []).OfType<JsonValue>().Select(a => a.GetValue<string>()).Where(a => a.Length > 0).ToList();
        if (audiences.Count == 0) audiences = [.. ServiceAccountTokens.ApiAudiences];

        var sa = await store.GetAsync(ServiceAccounts, ns, name, null, ctx.RequestAborted);
        (string Kind, JsonObject Obj)? bound = null;
        if (spec["boundObjectRef"] is JsonObject reference) bound = await BoundAsync(ns, name, reference, ctx.RequestAborted);

        var (token, expires) = tokens.Issue(sa, audiences, TimeSpan.FromSeconds(seconds), bound);
        var answered = new JsonObject
        {
            ["kind"] = "TokenRequest",
            ["apiVersion"] = ApiVersion,
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["creationTimestamp"] = Meta.Time(tokens.Clock.GetUtcNow()) },
            ["spec"] = new JsonObject
            {
                ["audiences"] = new JsonArray([.. audiences.Select(a => (JsonNode)JsonValue.Create(a))]),
                ["expirationSeconds"] = seconds,
                ["boundObjectRef"] = spec["boundObjectRef"]?.DeepClone(),
            },
            ["status"] = new JsonObject { ["token"] = token, ["expirationTimestamp"] = Meta.Time(expires) },
        };
        await HttpIo.WriteAsync(ctx, 201, answered);
    }

    /// <summary>The object a token is bound to: a Pod running as this ServiceAccount, or a Secret, with the UID asked for.</summary>
    async Task<(string, JsonObject)> BoundAsync(string ns, string saName, JsonObject reference, CancellationToken ct)
    {
        var kind = reference["kind"]?.GetValue<string>() ?? "";
        var apiVersion = reference["apiVersion"]?.GetValue<string>() ?? "";
        var name = reference["name"]?.GetValue<string>() ?? "";
        var resource = apiVersion == "v1" && kind == "Pod" ? Pods : apiVersion == "v1" && kind == "Secret" ? Secrets
            : throw ApiException.BadRequest($"cannot bind token to object of type {(apiVersion.Contains('/') ? apiVersion : "/" + apiVersion)}, Kind={kind}");
        var obj = await store.GetAsync(resource, ns, name, null, ct);
        if (kind == "Pod" && (obj["spec"]?["serviceAccountName"]?.GetValue<string>() ?? "") != saName)
            throw ApiException.BadRequest($"cannot bind token for serviceaccount \"{saName}\" to pod running with different serviceaccount name.");
        var uid = reference["uid"]?.GetValue<string>();
        if (!string.IsNullOrEmpty(uid) && uid != Meta.Str(obj, "uid"))
            throw new ApiException(409, "Conflict",
                $"Operation cannot be fulfilled on {kind} \"{name}\": the UID in the bound object reference ({uid}) does not match the UID in record. The object might have been deleted and then recreated",
                new JsonObject { ["name"] = name, ["kind"] = kind });
        return (kind, obj);
    }

    /// <summary>Upstream's 422 for a TokenRequest (its kind is named with its group).</summary>
    static ApiException Invalid(string name, string field, string message) =>
        new(422, "Invalid", $"TokenRequest.{Group} \"{name}\" is invalid: {field}: {message}", new JsonObject
        {
            ["name"] = name,
            ["group"] = Group,
            ["kind"] = "TokenRequest",
            ["causes"] = new JsonArray(new JsonObject { ["reason"] = "FieldValueInvalid", ["message"] = message, ["field"] = field }),
        });
}
