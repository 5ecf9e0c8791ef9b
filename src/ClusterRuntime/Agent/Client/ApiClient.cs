// The agent's small Kubernetes REST client: JSON objects in and out, errors as the server's Status message.
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Agent.Client;

/// <summary>An API error answered by the server, with its HTTP code and the Status message.</summary>
public sealed class ApiStatusException(HttpStatusCode code, string message) : Exception(message)
{
    /// <summary>The HTTP status.</summary>
    public HttpStatusCode Code { get; } = code;
}

/// <summary>
/// GET/POST/PUT/PATCH of JSON objects by path over an <see cref="HttpClient"/> (whose handler chooses the server).
/// The agent needs a handful of calls, so this is not a generated client.
/// </summary>
public sealed class ApiClient(HttpClient http) : IDisposable
{
    /// <summary>
    /// The underlying client (failover included), for calls this class lacks. Watches: send with
    /// <see cref="HttpCompletionOption.ResponseHeadersRead"/>; the failover's per-try timeout ends with the headers.
    /// </summary>
    public HttpClient Http => http;

    /// <summary>Reads an object; null when it does not exist.</summary>
    public async Task<JsonObject?> GetAsync(string path, CancellationToken ct)
    {
        using var response = await http.GetAsync(path, ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        return await ReadAsync(response, ct);
    }

    /// <summary>Creates an object (POST to the collection path).</summary>
    public Task<JsonObject> CreateAsync(string collection, JsonObject obj, CancellationToken ct) => SendAsync(HttpMethod.Post, collection, obj, "application/json", ct);

    /// <summary>Replaces an object (PUT); a stale resourceVersion is a 409.</summary>
    public Task<JsonObject> ReplaceAsync(string path, JsonObject obj, CancellationToken ct) => SendAsync(HttpMethod.Put, path, obj, "application/json", ct);

    /// <summary>Applies a JSON merge patch.</summary>
    public Task<JsonObject> MergePatchAsync(string path, JsonObject patch, CancellationToken ct) => SendAsync(HttpMethod.Patch, path, patch, "application/merge-patch+json", ct);

    async Task<JsonObject> SendAsync(HttpMethod method, string path, JsonObject body, string contentType, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path)
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body.ToJsonString())) { Headers = { ContentType = new MediaTypeHeaderValue(contentType) } },
        };
        using var response = await http.SendAsync(request, ct);
        return await ReadAsync(response, ct);
    }

    static async Task<JsonObject> ReadAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new ApiStatusException(response.StatusCode, StatusMessage(response, text));
        return JsonNode.Parse(text) as JsonObject ?? throw new InvalidDataException($"{response.RequestMessage?.RequestUri}: the answer is not a JSON object");
    }

    /// <summary>The message of a Status body, else the HTTP status and the start of the body.</summary>
    public static string StatusMessage(HttpResponseMessage response, string body)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject o && o["message"]?.GetValue<string>() is { Length: > 0 } m) return m;
        }
        catch (System.Text.Json.JsonException) { }
        return $"{(int)response.StatusCode} {response.ReasonPhrase}: {body[..Math.Min(body.Length, 200)]}";
    }

    /// <inheritdoc />
    public void Dispose() => http.Dispose();
}
