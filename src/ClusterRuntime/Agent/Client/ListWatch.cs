// List+watch of one collection of the API (the agent's informer), listing again whenever the watch ends or fails.
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Client;

/// <summary>
/// Lists <paramref name="collection"/> (e.g. <c>/api/v1/pods</c>, with <paramref name="query"/> such as a field
/// selector), then watches from the list's resourceVersion. A watch that ends, an ERROR event (410 Gone) or a
/// connection failure leads to a new list after a second; <paramref name="what"/> names it in the log.
/// </summary>
internal sealed class ListWatch(ApiClient api, string collection, string? query, string what, ILogger logger)
{

    /// <summary>Calls <paramref name="onList"/> with every full list and <paramref name="onEvent"/> per watch event.</summary>
    public async Task RunAsync(Action<IReadOnlyList<JsonObject>> onList, Action<string, JsonObject> onEvent, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                var list = await api.GetAsync(query is null ? collection : $"{collection}?{query}", ct) ?? throw new InvalidDataException($"the list of {collection} answered 404");
                onList([.. Obj.Items(list, "items")]);
                await WatchAsync(Obj.Str(list, "metadata", "resourceVersion") ?? "0", onEvent, ct);
            }
            catch (Exception e) when (!ct.IsCancellationRequested && e is HttpRequestException or ApiStatusException or IOException or InvalidDataException or JsonException or TaskCanceledException)
            {
                logger.LogWarning("{What}: {Error}; listing again", what, e.Message);
            }
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
        }
    }

    async Task WatchAsync(string resourceVersion, Action<string, JsonObject> onEvent, CancellationToken ct)
    {
        var path = $"{collection}?watch=true&resourceVersion={resourceVersion}&timeoutSeconds=300{(query is null ? "" : "&" + query)}";
        using var response = await api.Http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode)
            throw new ApiStatusException(response.StatusCode, ApiClient.StatusMessage(response, await response.Content.ReadAsStringAsync(ct)));
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0) continue;
            var e = JsonNode.Parse(line) as JsonObject ?? throw new InvalidDataException("a watch event is not a JSON object");
            var type = Obj.Str(e, "type");
            if (type == "ERROR") throw new InvalidDataException($"watch error: {Obj.Str(e, "object", "message")}");
            if (type == "BOOKMARK" || Obj.Object(e, "object") is not { } obj) continue;
            onEvent(type ?? "", obj);
        }
    }
}
