// Learns the API servers from the kubernetes Endpoints in default (each server keeps itself listed there).
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Agent.Client;

/// <summary>Reads the <c>kubernetes</c> Endpoints and hands every address:port to the <see cref="ServerList"/>.</summary>
public static class ServerDiscovery
{
    /// <summary>The servers listed in a <c>kubernetes</c> Endpoints object.</summary>
    public static IReadOnlyList<Uri> FromEndpoints(JsonObject endpoints)
    {
        var found = new List<Uri>();
        foreach (var subset in endpoints["subsets"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var ports = subset["ports"]?.AsArray().OfType<JsonObject>().Select(p => p["port"]?.GetValue<int>() ?? 0).Where(p => p > 0).ToList() ?? [];
            foreach (var address in subset["addresses"]?.AsArray().OfType<JsonObject>() ?? [])
                if (address["ip"]?.GetValue<string>() is { } ip && System.Net.IPAddress.TryParse(ip, out var parsed))
                    foreach (var port in ports)
                        found.Add(new Uri(parsed.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"https://[{ip}]:{port}/" : $"https://{ip}:{port}/"));
        }
        return found;
    }

    /// <summary>Refreshes <paramref name="servers"/> from the cluster; returns true when the list changed.</summary>
    public static async Task<bool> RefreshAsync(ApiClient api, ServerList servers, CancellationToken ct)
    {
        var endpoints = await api.GetAsync("/api/v1/namespaces/default/endpoints/kubernetes", ct);
        return endpoints is not null && FromEndpoints(endpoints) is { Count: > 0 } learned && servers.Learn(learned);
    }
}
