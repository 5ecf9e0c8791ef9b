// Small JSON helpers for HTTP tests.
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Tests.Support;

/// <summary>Sends and parses JSON.</summary>
public static class Json
{
    /// <summary>A JSON body with the given media type.</summary>
    public static StringContent Body(JsonNode node, string mediaType = "application/json")
    {
        var content = new StringContent(node.ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return content;
    }

    /// <summary>Reads a response body as a JSON object.</summary>
    public static async Task<JsonObject> ReadAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!.AsObject();

    /// <summary>A ConfigMap document.</summary>
    public static JsonObject ConfigMap(string name, string? resourceVersion = null, params (string Key, string Value)[] data)
    {
        var meta = new JsonObject { ["name"] = name };
        if (resourceVersion is not null) meta["resourceVersion"] = resourceVersion;
        var d = new JsonObject();
        foreach (var (k, v) in data) d[k] = v;
        return new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = meta, ["data"] = d };
    }
}
