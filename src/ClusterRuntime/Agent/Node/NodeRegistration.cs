// Creates the Node object, or brings an existing one's labels and taints in line with the agent's flags.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Client;

namespace Appliance.ClusterRuntime.Agent.Node;

/// <summary>
/// Registers the node as the kubelet does: a new Node gets the standard labels, <c>--node-label</c>s and
/// <c>--node-taint</c>s; an existing one (a rejoin) gets missing or changed labels and keeps everything else (labels
/// set with kubectl, its taints: as upstream's kubelet, taints are set at registration only, and NodeRestriction
/// refuses a node's change of its own taints).
/// </summary>
public sealed class NodeRegistration(ApiClient api, string nodeName, IReadOnlyDictionary<string, string> labels, IReadOnlyList<Taint> taints)
{
    /// <summary>The Node's path.</summary>
    public string Path => $"/api/v1/nodes/{nodeName}";

    /// <summary>The labels the agent sets: kubernetes.io/hostname, os, arch, then the flags' labels.</summary>
    public static Dictionary<string, string> StandardLabels(string nodeName, string arch, IReadOnlyDictionary<string, string> extra)
    {
        var all = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["kubernetes.io/hostname"] = nodeName,
            ["kubernetes.io/os"] = "linux",
            ["kubernetes.io/arch"] = arch,
            ["beta.kubernetes.io/os"] = "linux",
            ["beta.kubernetes.io/arch"] = arch,
        };
        foreach (var (k, v) in extra) all[k] = v;
        return all;
    }

    /// <summary>Creates or updates the Node; returns it as stored.</summary>
    public async Task<JsonObject> RegisterAsync(CancellationToken ct)
    {
        for (int attempt = 0; ; attempt++)
        {
            var existing = await api.GetAsync(Path, ct);
            try
            {
                if (existing is null)
                {
                    var node = new JsonObject
                    {
                        ["apiVersion"] = "v1",
                        ["kind"] = "Node",
                        ["metadata"] = new JsonObject { ["name"] = nodeName, ["labels"] = LabelsJson(new JsonObject()) },
                        ["spec"] = new JsonObject { ["taints"] = new JsonArray(taints.Select(t => (JsonNode)t.ToJson()).ToArray()) },
                    };
                    return await api.CreateAsync("/api/v1/nodes", node, ct);
                }
                if (!Reconcile(existing)) return existing;
                return await api.ReplaceAsync(Path, existing, ct);
            }
            catch (ApiStatusException e) when (e.Code is HttpStatusCode.Conflict && attempt < 5)
            {
                // Created or changed meanwhile (a controller added a taint): read it again.
            }
        }
    }

    JsonObject LabelsJson(JsonObject into)
    {
        foreach (var (k, v) in labels) into[k] = v;
        return into;
    }

    bool Reconcile(JsonObject node)
    {
        var meta = node["metadata"]!.AsObject();
        var have = meta["labels"] as JsonObject ?? [];
        meta["labels"] = have;
        var changed = false;
        foreach (var (k, v) in labels)
            if (have[k]?.GetValue<string>() != v) { have[k] = v; changed = true; }
        return changed;
    }
}
