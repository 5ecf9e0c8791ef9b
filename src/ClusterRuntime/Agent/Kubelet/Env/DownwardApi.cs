// Downward API values: a pod field (fieldRef) or a container resource (resourceFieldRef) as the string a container sees.
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Env;

/// <summary>
/// The values upstream's <c>podFieldSelectorRuntimeValue</c> and <c>ExtractContainerResourceValue</c> give. Unsupported
/// paths throw <see cref="ContainerConfigException"/> with upstream's words.
/// </summary>
public static class DownwardApi
{
    /// <summary>A <c>fieldRef.fieldPath</c> of <paramref name="pod"/>.</summary>
    public static string Field(JsonObject pod, string path, PodFacts facts)
    {
        var meta = pod["metadata"] as JsonObject;
        switch (path)
        {
            case "metadata.name": return Str(meta?["name"]);
            case "metadata.namespace": return Str(meta?["namespace"]);
            case "metadata.uid": return Str(meta?["uid"]);
            case "metadata.labels": return FormatMap(meta?["labels"] as JsonObject);
            case "metadata.annotations": return FormatMap(meta?["annotations"] as JsonObject);
            case "spec.nodeName": return Str(pod["spec"]?["nodeName"]);
            case "spec.serviceAccountName": return Str(pod["spec"]?["serviceAccountName"]);
            case "status.podIP": return PodIPs(pod, facts).FirstOrDefault() ?? "";
            case "status.podIPs": return string.Join(',', PodIPs(pod, facts));
            case "status.hostIP": return HostIPs(pod, facts).FirstOrDefault() ?? "";
            case "status.hostIPs": return string.Join(',', HostIPs(pod, facts));
        }
        foreach (var (prefix, map) in new[] { ("metadata.labels['", "labels"), ("metadata.annotations['", "annotations") })
            if (path.StartsWith(prefix, StringComparison.Ordinal) && path.EndsWith("']", StringComparison.Ordinal))
                return Str(meta?[map]?[path[prefix.Length..^2]]);
        throw new ContainerConfigException($"unsupported fieldPath: {path}");
    }

    /// <summary>
    /// A <c>resourceFieldRef</c> of <paramref name="container"/>: the limit or request divided by the divisor (default 1),
    /// rounded up. An unset limit is the node's allocatable from <paramref name="facts"/>.
    /// </summary>
    public static string Resource(JsonObject container, string resource, JsonNode? divisor, PodFacts facts)
    {
        var parts = resource.Split('.', 2);
        if (parts.Length != 2 || parts[0] is not ("limits" or "requests") || parts[1] is not ("cpu" or "memory" or "ephemeral-storage"))
            throw new ContainerConfigException($"unsupported container resource : {resource}");
        var value = container["resources"]?[parts[0]]?[parts[1]];
        if (value is null && parts[0] == "limits") value = facts.Allocatable?[parts[1]];
        var div = divisor is null || Quantity.Parse(divisor) == 0 ? JsonValue.Create("1") : divisor;
        if (parts[1] == "cpu")
            return ((long)Math.Ceiling((decimal)Quantity.Milli(value) / Quantity.Milli(div))).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ((long)Math.Ceiling((decimal)Quantity.Value(value) / Math.Max(1, Quantity.Value(div)))).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Labels or annotations as a downward API file shows them: <c>key="value"</c> lines, sorted by key.</summary>
    public static string FormatMap(JsonObject? map)
    {
        if (map is null) return "";
        var lines = map.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + Quote(Str(p.Value)));
        return string.Join('\n', lines);
    }

    // Go's %q for the characters label and annotation values hold: backslash, quote and control characters escaped.
    static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
            sb.Append(c switch
            {
                '"' => "\\\"", '\\' => "\\\\", '\n' => "\\n", '\t' => "\\t", '\r' => "\\r",
                < ' ' or '\x7f' => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        return sb.Append('"').ToString();
    }

    static IReadOnlyList<string> PodIPs(JsonObject pod, PodFacts facts) => facts.PodIPs.Count > 0 ? facts.PodIPs : StatusIPs(pod, "podIPs", "podIP");

    static IReadOnlyList<string> HostIPs(JsonObject pod, PodFacts facts) => facts.HostIPs.Count > 0 ? facts.HostIPs : StatusIPs(pod, "hostIPs", "hostIP");

    static List<string> StatusIPs(JsonObject pod, string list, string single)
    {
        var ips = (pod["status"]?[list] as JsonArray)?.Select(e => Str(e?["ip"])).Where(s => s.Length > 0).ToList() ?? [];
        if (ips.Count == 0 && Str(pod["status"]?[single]) is { Length: > 0 } one) ips.Add(one);
        return ips;
    }

    internal static string Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n?.ToString() ?? "";
}
