// The kubelet that serves a pod's subresources (pods/log, exec, attach, portforward): the pod's node, its address and port, the container.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Api.PodLogs;

/// <summary>A pod's kubelet (<c>https://InternalIP:port</c>) and the container a request is for.</summary>
/// <param name="Kubelet">The kubelet API's base address, from the Node's InternalIP and kubeletEndpoint port.</param>
/// <param name="Container">The container named, or the pod's only one.</param>
public sealed record KubeletTarget(Uri Kubelet, string Container)
{
    /// <summary>
    /// Reads the pod and its node; throws <see cref="ApiException"/> with upstream's messages for a missing pod, an
    /// unscheduled one, an unknown or unnamed container, or a node whose kubelet cannot be addressed. A null
    /// <paramref name="container"/> asks for none (pods/portforward is for the whole pod).
    /// </summary>
    public static async Task<KubeletTarget> FindAsync(ObjectStore store, string ns, string name, string? container, CancellationToken ct)
    {
        var pods = ResourceTable.Find("", "v1", "pods")!;
        var pod = await store.GetAsync(pods, ns, name, null, ct);
        var chosen = container is null ? "" : ContainerOf(pod, name, container);
        var nodeName = pod["spec"]?["nodeName"]?.GetValue<string>();
        if (string.IsNullOrEmpty(nodeName)) throw ApiException.BadRequest($"pod {name} does not have a host assigned");
        var nodes = ResourceTable.Find("", "v1", "nodes")!;
        var node = await store.GetAsync(nodes, null, nodeName, null, ct);
        return new KubeletTarget(KubeletAddress(node, nodeName), chosen);
    }

    /// <summary>The kubelet path for <paramref name="endpoint"/> (containerLogs, exec, attach, portForward) with this pod and container.</summary>
    public Uri Url(string endpoint, string ns, string pod, string query) =>
        new(Kubelet, $"/{endpoint}/{Uri.EscapeDataString(ns)}/{Uri.EscapeDataString(pod)}"
            + (Container.Length > 0 ? "/" + Uri.EscapeDataString(Container) : "") + (query.Length > 0 ? "?" + query : ""));

    /// <summary>The container to use: the one named, or the only one; upstream's messages otherwise.</summary>
    static string ContainerOf(JsonObject pod, string name, string asked)
    {
        var names = new List<string>();
        foreach (var key in new[] { "initContainers", "containers", "ephemeralContainers" })
            if (pod["spec"]?[key] is JsonArray list)
                foreach (var c in list)
                    if (c?["name"]?.GetValue<string>() is { } n) names.Add(n);
        var regular = (pod["spec"]?["containers"] as JsonArray)?.Select(c => c?["name"]?.GetValue<string>()).OfType<string>().ToList() ?? [];
        if (string.IsNullOrEmpty(asked))
        {
            if (regular.Count == 1) return regular[0];
            throw ApiException.BadRequest($"a container name must be specified for pod {name}, choose one of: [{string.Join(' ', regular)}]");
        }
        if (!names.Contains(asked)) throw ApiException.BadRequest($"container {asked} is not valid for pod {name}");
        return asked;
    }

    static Uri KubeletAddress(JsonObject node, string nodeName)
    {
        var address = (node["status"]?["addresses"] as JsonArray)?
            .FirstOrDefault(a => a?["type"]?.GetValue<string>() == "InternalIP")?["address"]?.GetValue<string>();
        if (address is null || !IPAddress.TryParse(address, out var ip))
            throw new ApiException(500, "InternalError", $"node \"{nodeName}\" has no InternalIP address in its status: its kubelet cannot be reached");
        var port = node["status"]?["daemonEndpoints"]?["kubeletEndpoint"]?["Port"]?.GetValue<int>() ?? 0;
        if (port is <= 0 or > 65535) throw new ApiException(500, "InternalError", $"node \"{nodeName}\" reports no kubelet port (status.daemonEndpoints.kubeletEndpoint.Port)");
        var host = ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString();
        return new Uri($"https://{host}:{port}/");
    }

    /// <summary>The query string of the <paramref name="names"/> present in <paramref name="q"/>, renamed by <paramref name="rename"/>.</summary>
    public static string Query(IQueryCollection q, IEnumerable<string> names, Func<string, string>? rename = null) =>
        string.Join('&', names.Where(q.ContainsKey).SelectMany(k => q[k].Select(v => $"{(rename ?? (n => n))(k)}={Uri.EscapeDataString(v ?? "")}")));
}
