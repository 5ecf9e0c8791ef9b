// authentication.k8s.io/v1 TokenReview (service-account tokens) and SelfSubjectReview (`kubectl auth whoami`).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Auth;

namespace Appliance.ClusterRuntime.Api.ServiceAccounts;

/// <summary>The two create-only review kinds of authentication.k8s.io/v1; nothing of them is stored.</summary>
public static class AuthenticationReviews
{
    const string ApiVersion = "authentication.k8s.io/v1";
    static readonly Schema.TypeDef TokenReviewType = Schema.TypeCatalog.Get("io.k8s.api.authentication.v1.TokenReview");

    /// <summary>Who the caller is, as upstream's SelfSubjectReview answers.</summary>
    public static JsonObject SelfSubjectReview(UserInfo user, string now) => new()
    {
        ["kind"] = "SelfSubjectReview",
        ["apiVersion"] = ApiVersion,
        ["metadata"] = new JsonObject { ["creationTimestamp"] = now },
        ["status"] = new JsonObject { ["userInfo"] = UserJson(user) },
    };

    /// <summary>
    /// Reviews <c>spec.token</c> as a service-account token for <c>spec.audiences</c> (default the API audiences):
    /// <c>status.authenticated</c>, the user and the audiences it is good for, or an error.
    /// </summary>
    public static async Task<JsonObject> TokenReviewAsync(ServiceAccountTokens tokens, JsonObject body, CancellationToken ct)
    {
        Validation.CheckTypes(TokenReviewType, body, "authentication.k8s.io");
        var spec = body["spec"] as JsonObject ?? [];
        var token = spec["token"]?.GetValue<string>() ?? "";
        if (token.Length == 0)
            throw new ApiException(422, "Invalid", "TokenReview.authentication.k8s.io \"\" is invalid: spec.token: Required value", new JsonObject
            {
                ["group"] = "authentication.k8s.io",
                ["kind"] = "TokenReview",
                ["causes"] = new JsonArray(new JsonObject { ["reason"] = "FieldValueRequired", ["message"] = "Required value", ["field"] = "spec.token" }),
            });
        var asked = (spec["audiences"] as JsonArray ?? []).Select(a => a?.GetValue<string>() ?? "").Where(a => a.Length > 0).ToList();
        var audiences = asked.Count > 0 ? asked : [.. ServiceAccountTokens.ApiAudiences];
        var user = await tokens.AuthenticateAsync(token, ct, audiences);
        var status = new JsonObject { ["authenticated"] = user is not null };
        if (user is not null)
        {
            status["user"] = UserJson(user);
            status["audiences"] = new JsonArray([.. audiences.Select(a => (JsonNode)JsonValue.Create(a))]);
        }
        else status["error"] = "[invalid bearer token, service account token is not valid]";
        return new JsonObject
        {
            ["kind"] = "TokenReview",
            ["apiVersion"] = ApiVersion,
            ["metadata"] = new JsonObject { ["creationTimestamp"] = null },
            ["spec"] = spec.DeepClone(),
            ["status"] = status,
        };
    }

    static JsonObject UserJson(UserInfo user)
    {
        var json = new JsonObject { ["username"] = user.Name };
        if (user.Uid is { } uid) json["uid"] = uid;
        json["groups"] = new JsonArray([.. user.Groups.Select(g => (JsonNode)JsonValue.Create(g))]);
        return json;
    }
}
