// Issues and verifies bound service-account tokens (JWTs signed with the server's service-account key).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Auth;

/// <summary>
/// The service-account token authority, as kube-apiserver's: tokens carry upstream's claims (<c>iss</c>, <c>sub</c>
/// <c>system:serviceaccount:NS:NAME</c>, <c>aud</c>, <c>exp</c>, <c>iat</c>, <c>nbf</c>, <c>jti</c>, and
/// <c>kubernetes.io</c> with the namespace, the ServiceAccount and the bound pod or secret). A token authenticates
/// while its signature, times and audience hold and the objects it names still exist with the same UIDs, so deleting
/// the ServiceAccount (or the bound pod) ends it before its expiry.
/// </summary>
/// <param name="signer">The service-account key.</param>
/// <param name="store">Where ServiceAccounts, pods and secrets are looked up.</param>
/// <param name="clock">Times tokens (the controllers' clock, so <c>--test-clock-speed</c> applies to it).</param>
public sealed class ServiceAccountTokens(JwtSigner signer, ObjectStore store, TimeProvider clock)
{
    /// <summary>The issuer, K3s's default <c>--service-account-issuer</c>.</summary>
    public const string Issuer = "https://kubernetes.default.svc.cluster.local";

    /// <summary>The API server's audiences (K3s's <c>--api-audiences</c>); tokens for none of them do not authenticate here.</summary>
    public static readonly IReadOnlyList<string> ApiAudiences = [Issuer, "k3s"];

    /// <summary>Clock skew allowed on <c>nbf</c> and <c>exp</c> (upstream's JWT leeway).</summary>
    public static readonly TimeSpan Leeway = TimeSpan.FromSeconds(60);

    /// <summary>A deleted bound pod's tokens keep working this long after its deletionTimestamp (upstream's grace).</summary>
    static readonly TimeSpan DeletedObjectGrace = TimeSpan.FromSeconds(60);

    static readonly ApiResource ServiceAccounts = ResourceTable.Find("", "v1", "serviceaccounts")!;
    static readonly ApiResource Pods = ResourceTable.Find("", "v1", "pods")!;
    static readonly ApiResource Secrets = ResourceTable.Find("", "v1", "secrets")!;

    /// <summary>The signing key (its public half is published at <c>/openid/v1/jwks</c>).</summary>
    public JwtSigner Signer => signer;

    /// <summary>The clock tokens are timed by.</summary>
    public TimeProvider Clock => clock;

    /// <summary>
    /// A token for <paramref name="serviceAccount"/> valid from now for <paramref name="lifetime"/>, bound to
    /// <paramref name="bound"/> (a Pod or Secret, with its kind) when given.
    /// </summary>
    public (string Token, DateTimeOffset Expires) Issue(JsonObject serviceAccount, IReadOnlyList<string> audiences, TimeSpan lifetime, (string Kind, JsonObject Obj)? bound)
    {
        var now = clock.GetUtcNow();
        var expires = now + lifetime;
        var ns = Meta.Namespace(serviceAccount)!;
        var name = Meta.Name(serviceAccount)!;
        var k8s = new JsonObject
        {
            ["namespace"] = ns,
            ["serviceaccount"] = Ref(serviceAccount),
        };
        if (bound is { } b) k8s[b.Kind == "Pod" ? "pod" : "secret"] = Ref(b.Obj);
        var claims = new JsonObject
        {
            ["aud"] = new JsonArray([.. audiences.Select(a => (JsonNode)JsonValue.Create(a))]),
            ["exp"] = expires.ToUnixTimeSeconds(),
            ["iat"] = now.ToUnixTimeSeconds(),
            ["iss"] = Issuer,
            ["jti"] = Guid.NewGuid().ToString(),
            ["kubernetes.io"] = k8s,
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["sub"] = UserName(ns, name),
        };
        return (signer.Sign(claims), DateTimeOffset.FromUnixTimeSeconds(expires.ToUnixTimeSeconds()));

        static JsonObject Ref(JsonObject obj) => new() { ["name"] = Meta.Name(obj), ["uid"] = Meta.Str(obj, "uid") };
    }

    /// <summary>The user name of a ServiceAccount.</summary>
    public static string UserName(string ns, string name) => $"system:serviceaccount:{ns}:{name}";

    /// <summary>
    /// The user a token stands for, or null when it is not a valid token of ours: another issuer or key, expired or
    /// not yet valid, for none of <paramref name="audiences"/> (default <see cref="ApiAudiences"/>), or naming a
    /// ServiceAccount, pod or secret that is gone.
    /// </summary>
    public async Task<UserInfo?> AuthenticateAsync(string token, CancellationToken ct, IReadOnlyList<string>? audiences = null)
    {
        if (signer.Verify(token) is not { } claims || Str(claims, "iss") != Issuer) return null;
        var now = clock.GetUtcNow().ToUnixTimeSeconds();
        var leeway = (long)Leeway.TotalSeconds;
        if (Long(claims, "exp") is not { } exp || now > exp + leeway) return null;
        if (Long(claims, "nbf") is { } nbf && now < nbf - leeway) return null;
        if (!Audiences(claims).Any((audiences ?? ApiAudiences).Contains)) return null;
        if (claims["kubernetes.io"] is not JsonObject k8s || Str(k8s, "namespace") is not { Length: > 0 } ns) return null;
        if (k8s["serviceaccount"] is not JsonObject saRef) return null;
        var sa = await StillThereAsync(ServiceAccounts, ns, saRef, ct);
        if (sa is null) return null;
        if (k8s["pod"] is JsonObject podRef && await StillThereAsync(Pods, ns, podRef, ct) is null) return null;
        if (k8s["secret"] is JsonObject secretRef && await StillThereAsync(Secrets, ns, secretRef, ct) is null) return null;
        return new UserInfo(UserName(ns, Meta.Name(sa)!), ["system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"])
        {
            Uid = Meta.Str(sa, "uid"),
        };
    }

    /// <summary>The object a claim names, when it exists with the claimed UID and is not long deleted.</summary>
    async Task<JsonObject?> StillThereAsync(ApiResource r, string ns, JsonObject claim, CancellationToken ct)
    {
        if (Str(claim, "name") is not { Length: > 0 } name) return null;
        var (_, obj) = await store.TryGetAsync(r, ns, name, ct);
        if (obj is null || Meta.Str(obj, "uid") != Str(claim, "uid")) return null;
        if (Meta.Str(obj, "deletionTimestamp") is { } deleting
            && DateTimeOffset.TryParse(deleting, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var since)
            && since + DeletedObjectGrace < DateTimeOffset.UtcNow)
            return null;
        return obj;
    }

    /// <summary>The discovery document at <c>/.well-known/openid-configuration</c>, as kube-apiserver serves it.</summary>
    public JsonObject OpenIdConfiguration(string jwksUri) => new()
    {
        ["issuer"] = Issuer,
        ["jwks_uri"] = jwksUri,
        ["response_types_supported"] = new JsonArray("id_token"),
        ["subject_types_supported"] = new JsonArray("public"),
        ["id_token_signing_alg_values_supported"] = new JsonArray(signer.Algorithm),
    };

    /// <summary>The key set at <c>/openid/v1/jwks</c>.</summary>
    public JsonObject Jwks() => new() { ["keys"] = new JsonArray(signer.PublicJwk()) };

    static IEnumerable<string> Audiences(JsonObject claims) => claims["aud"] switch
    {
        JsonArray a => a.OfType<JsonValue>().Select(v => v.TryGetValue<string>(out var s) ? s : "").ToArray(),
        JsonValue v when v.TryGetValue<string>(out var s) => [s],
        _ => [],
    };

    static string? Str(JsonObject o, string field) => o[field] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    static long? Long(JsonObject o, string field) =>
        o[field] is not JsonValue v ? null : v.TryGetValue<long>(out var l) ? l : v.TryGetValue<double>(out var d) ? (long)d : null;
}
