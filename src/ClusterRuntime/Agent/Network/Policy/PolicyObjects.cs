// What the NetworkPolicy renderer reads from Pods, Namespaces and NetworkPolicies, and how a selector picks them.
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Agent.Network.Policy;

/// <summary>A named container port of a pod (for a policy's named ports).</summary>
internal sealed record NamedPort(string Name, string Protocol, int Port);

/// <summary>
/// A pod with an IPv4 address of the pod network: its labels, node and named container ports. Host-network pods
/// (their address is the node's) and finished pods (their address may be handed out again) are not read.
/// </summary>
internal sealed record PolicyPod(string Namespace, string Name, string Node, string Ip, IReadOnlyDictionary<string, string> Labels, IReadOnlyList<NamedPort> Ports)
{
    /// <summary>The pods of <paramref name="pods"/> that can be peers or targets, ordered by address.</summary>
    public static List<PolicyPod> Read(IEnumerable<JsonObject> pods)
    {
        var list = new List<PolicyPod>();
        foreach (var pod in pods)
        {
            var spec = pod["spec"] as JsonObject ?? [];
            if (spec["hostNetwork"] is JsonValue h && h.TryGetValue<bool>(out var host) && host) continue;
            if (pod["status"]?["phase"]?.ToString() is "Succeeded" or "Failed") continue;
            var ips = (pod["status"]?["podIPs"] as JsonArray ?? []).Select(p => p?["ip"]?.ToString()).Append(pod["status"]?["podIP"]?.ToString());
            var ip = ips.FirstOrDefault(a => IPAddress.TryParse(a, out var x) && x.AddressFamily == AddressFamily.InterNetwork);
            if (ip is null) continue;
            var ports = new List<NamedPort>();
            foreach (var c in (spec["containers"] as JsonArray ?? []).Concat(spec["initContainers"] as JsonArray ?? []).OfType<JsonObject>())
                foreach (var p in (c["ports"] as JsonArray ?? []).OfType<JsonObject>())
                    if (p["name"]?.ToString() is { Length: > 0 } name && p["containerPort"] is JsonValue v && v.TryGetValue<int>(out var number))
                        ports.Add(new NamedPort(name, p["protocol"]?.ToString() ?? "TCP", number));
            list.Add(new PolicyPod(Meta.Namespace(pod) ?? "", Meta.Name(pod) ?? "", spec["nodeName"]?.ToString() ?? "", ip, LabelsOf(pod), ports));
        }
        return [.. list.OrderBy(p => IPAddress.Parse(p.Ip).GetAddressBytes(), ByteOrder.Instance).ThenBy(p => p.Namespace, StringComparer.Ordinal).ThenBy(p => p.Name, StringComparer.Ordinal)];
    }

    /// <summary>The labels of an object.</summary>
    public static Dictionary<string, string> LabelsOf(JsonObject obj) =>
        (Meta.Of(obj)["labels"] as JsonObject ?? []).ToDictionary(p => p.Key, p => p.Value?.ToString() ?? "", StringComparer.Ordinal);

    /// <summary>The number of a named port for <paramref name="protocol"/>, or null when the pod has none by that name.</summary>
    public int? Resolve(string name, string protocol) =>
        Ports.FirstOrDefault(p => p.Name == name && string.Equals(p.Protocol, protocol, StringComparison.OrdinalIgnoreCase))?.Port;

    sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();
        public int Compare(byte[]? x, byte[]? y) => ((ReadOnlySpan<byte>)x).SequenceCompareTo(y);
    }
}

/// <summary>
/// The namespaces by name, with their labels. Each carries <c>kubernetes.io/metadata.name</c> (upstream's API server
/// sets it on every namespace; ours does not store it, so it is added here), so a policy can select a namespace by name.
/// </summary>
internal sealed class PolicyNamespaces
{
    /// <summary>The label upstream puts on every namespace, its name.</summary>
    public const string NameLabel = "kubernetes.io/metadata.name";

    readonly Dictionary<string, Dictionary<string, string>> _labels = new(StringComparer.Ordinal);

    /// <summary>Reads the names and labels of <paramref name="namespaces"/>.</summary>
    public PolicyNamespaces(IEnumerable<JsonObject> namespaces)
    {
        foreach (var ns in namespaces)
        {
            var name = Meta.Name(ns) ?? "";
            var labels = PolicyPod.LabelsOf(ns);
            labels[NameLabel] = name;
            _labels[name] = labels;
        }
    }

    /// <summary>Whether namespace <paramref name="name"/> exists and <paramref name="selector"/> selects it.</summary>
    public bool Matches(string name, LabelSelector selector) =>
        _labels.TryGetValue(name, out var labels) && selector.Matches(k => labels.GetValueOrDefault(k));
}

/// <summary>Label selection of pods and namespaces as NetworkPolicy defines it.</summary>
internal static class PolicySelect
{
    /// <summary>A <c>metav1.LabelSelector</c> field: absent or empty selects everything.</summary>
    public static LabelSelector Selector(JsonNode? selector) => LabelSelector.FromObject(selector as JsonObject ?? []);

    /// <summary>Whether <paramref name="selector"/> selects <paramref name="pod"/>.</summary>
    public static bool Matches(this LabelSelector selector, PolicyPod pod) => selector.Matches(k => pod.Labels.GetValueOrDefault(k));

    /// <summary>
    /// The pods a peer with selectors picks: a podSelector alone, in the policy's namespace; a namespaceSelector alone,
    /// every pod of the namespaces it selects; both, the pods the podSelector selects in those namespaces.
    /// </summary>
    public static IEnumerable<PolicyPod> Peers(JsonObject peer, string policyNamespace, IReadOnlyList<PolicyPod> pods, PolicyNamespaces namespaces)
    {
        var podSelector = peer["podSelector"] is JsonObject ps ? Selector(ps) : null;
        var nsSelector = peer["namespaceSelector"] is JsonObject ns ? Selector(ns) : null;
        return pods.Where(p =>
            (nsSelector is null ? p.Namespace == policyNamespace : namespaces.Matches(p.Namespace, nsSelector))
            && (podSelector is null || podSelector.Matches(p)));
    }
}
