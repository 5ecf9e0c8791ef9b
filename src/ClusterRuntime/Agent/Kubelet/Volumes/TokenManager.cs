// The kubelet's token manager: bound service-account tokens for projected volumes, requested and refreshed through TokenRequest.
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.Kubelet.Env;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Volumes;

/// <summary>Issues the token of a projected <c>serviceAccountToken</c> source for a pod.</summary>
public interface IServiceAccountTokens
{
    /// <summary>
    /// A token for the pod's ServiceAccount bound to the pod, for <paramref name="audience"/> (the API server's when
    /// empty), living <paramref name="expirationSeconds"/>; the same token until it is due for refresh.
    /// </summary>
    Task<string> TokenAsync(JsonObject pod, string audience, long expirationSeconds, CancellationToken ct);

    /// <summary>Forgets the tokens of a pod that is gone.</summary>
    void Forget(string podUid);
}

/// <summary>
/// <see cref="IServiceAccountTokens"/> over <c>POST serviceaccounts/NAME/token</c>, cached in memory per pod, audience
/// and lifetime as upstream's token manager: a token is requested again once 80% of its lifetime has passed or it is
/// older than 24 hours, so the file in the volume is replaced well before the token expires.
/// </summary>
public sealed class ApiServiceAccountTokens(ApiClient api, TimeProvider? clock = null) : IServiceAccountTokens
{
    readonly TimeProvider _clock = clock ?? TimeProvider.System;
    readonly ConcurrentDictionary<(string Uid, string Sa, string Audience, long Seconds), (string Token, DateTimeOffset Issued, DateTimeOffset Expires)> _cache = new();

    /// <inheritdoc />
    public async Task<string> TokenAsync(JsonObject pod, string audience, long expirationSeconds, CancellationToken ct)
    {
        var ns = DownwardApi.Str(pod["metadata"]?["namespace"]);
        var name = DownwardApi.Str(pod["metadata"]?["name"]);
        var uid = DownwardApi.Str(pod["metadata"]?["uid"]);
        var sa = DownwardApi.Str(pod["spec"]?["serviceAccountName"]) is { Length: > 0 } s ? s : "default";
        var key = (uid, sa, audience, expirationSeconds);
        var now = _clock.GetUtcNow();
        if (_cache.TryGetValue(key, out var hit) && !DueForRefresh(hit.Issued, hit.Expires, now)) return hit.Token;

        var spec = new JsonObject
        {
            ["expirationSeconds"] = expirationSeconds,
            ["boundObjectRef"] = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["name"] = name, ["uid"] = uid },
        };
        if (audience.Length > 0) spec["audiences"] = new JsonArray(audience);
        var request = new JsonObject { ["apiVersion"] = "authentication.k8s.io/v1", ["kind"] = "TokenRequest", ["spec"] = spec };
        JsonObject answer;
        try
        {
            answer = await api.CreateAsync($"/api/v1/namespaces/{Uri.EscapeDataString(ns)}/serviceaccounts/{Uri.EscapeDataString(sa)}/token", request, ct);
        }
        catch (ApiStatusException e)
        {
            throw new IOException($"failed to fetch token: {e.Message}", e);
        }
        var token = DownwardApi.Str(answer["status"]?["token"]);
        if (token.Length == 0) throw new IOException("failed to fetch token: the TokenRequest answer has no status.token");
        var expires = DateTimeOffset.TryParse(DownwardApi.Str(answer["status"]?["expirationTimestamp"]), System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var e2) ? e2 : now.AddSeconds(expirationSeconds);
        _cache[key] = (token, now, expires);
        return token;
    }

    /// <summary>Upstream's rule: refresh past 80% of the lifetime, or after 24 hours.</summary>
    public static bool DueForRefresh(DateTimeOffset issued, DateTimeOffset expires, DateTimeOffset now) =>
        now >= issued + (expires - issued) * 0.8 || now >= issued + TimeSpan.FromHours(24);

    /// <inheritdoc />
    public void Forget(string podUid)
    {
        foreach (var key in _cache.Keys)
            if (key.Uid == podUid) _cache.TryRemove(key, out _);
    }
}
