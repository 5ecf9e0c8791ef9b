// Reading and checking the address fields of a Service spec (clusterIP(s), ipFamilies, type, ports, nodePorts).
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Api.Storage.Services;

/// <summary>The checks upstream's Service validation makes on the fields the allocator reads, with its messages.</summary>
public static class ServiceSpec
{
    static readonly string[] Types = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

    /// <summary>spec.type (defaulted to ClusterIP before this runs).</summary>
    public static string Type(JsonObject svc) => Str(svc, "type") ?? "ClusterIP";

    /// <summary>spec.clusterIP, or "" when unset.</summary>
    public static string ClusterIp(JsonObject svc) => Str(svc, "clusterIP") ?? "";

    /// <summary>True when the Service gets an address from the range (not ExternalName, not headless).</summary>
    public static bool NeedsClusterIp(JsonObject svc) => Type(svc) != "ExternalName" && ClusterIp(svc) != "None";

    /// <summary>True when the Service's ports get NodePorts.</summary>
    public static bool NeedsNodePorts(JsonObject svc) =>
        Type(svc) == "NodePort" || (Type(svc) == "LoadBalancer" && Obj.Bool(svc, "spec", "allocateLoadBalancerNodePorts") != false);

    /// <summary>spec.ports.</summary>
    public static IEnumerable<JsonObject> Ports(JsonObject svc) => svc["spec"]?["ports"] is JsonArray a ? a.OfType<JsonObject>() : [];

    /// <summary>A port's nodePort, or 0.</summary>
    public static int NodePort(JsonObject port) => Obj.Int(port, 0, "nodePort");

    /// <summary>
    /// Type, ports, clusterIP/clusterIPs and nodePort checks (422 naming the field, in upstream's words); on success
    /// clusterIP and clusterIPs agree (one filled from the other).
    /// </summary>
    public static void Check(JsonObject svc)
    {
        var name = Meta.Name(svc) ?? "";
        var spec = svc["spec"] as JsonObject ?? new JsonObject();
        var problems = new List<(string, string)>();
        var type = Type(svc);
        if (!Types.Contains(type))
            problems.Add(("spec.type", $"Unsupported value: \"{type}\": supported values: {string.Join(", ", Types.Select(t => $"\"{t}\""))}"));
        var ips = spec["clusterIPs"] is JsonArray arr ? arr.Select(n => n?.GetValue<string>() ?? "").ToList() : [];
        var ip = ClusterIp(svc);
        if (ip.Length == 0 && ips.Count > 0) spec["clusterIP"] = ip = ips[0];
        else if (ip.Length > 0 && ips.Count == 0) spec["clusterIPs"] = new JsonArray(ip);
        else if (ip.Length > 0 && ips[0] != ip) problems.Add(("spec.clusterIPs[0]", $"Invalid value: \"{ips[0]}\": must match `clusterIP` when set"));
        if (type == "ExternalName")
        {
            if (string.IsNullOrEmpty(Str(svc, "externalName"))) problems.Add(("spec.externalName", "Required value"));
        }
        else if (ip.Length > 0 && ip != "None" && !IPAddress.TryParse(ip, out _))
            problems.Add(("spec.clusterIPs[0]", $"Invalid value: \"{ip}\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"));
        else if (ip == "None" && type is "NodePort" or "LoadBalancer")
            problems.Add(("spec.clusterIPs[0]", $"Invalid value: \"None\": may not be set to 'None' for {type} services"));
        var ports = Ports(svc).ToList();
        if (ports.Count == 0 && ip != "None" && type != "ExternalName") problems.Add(("spec.ports", "Required value"));
        for (int i = 0; i < ports.Count; i++)
        {
            var port = Obj.Int(ports[i], 0, "port");
            if (port is < 1 or > 65535) problems.Add(($"spec.ports[{i}].port", $"Invalid value: {port}: must be between 1 and 65535, inclusive"));
            var nodePort = NodePort(ports[i]);
            if (nodePort != 0 && type is "ClusterIP" or "ExternalName")
                problems.Add(($"spec.ports[{i}].nodePort", $"Forbidden: may not be used when `type` is '{type}'"));
            else if (nodePort is < 0 or > 65535)
                problems.Add(($"spec.ports[{i}].nodePort", $"Invalid value: {nodePort}: must be between 1 and 65535, inclusive"));
        }
        if (problems.Count > 0) throw ApiException.Invalid("", "Service", name, problems);
    }

    /// <summary>
    /// Fills <c>ipFamilies</c> and <c>ipFamilyPolicy</c> for a single-stack cluster of <paramref name="family"/>, as
    /// upstream does (headless Services without a selector ask for RequireDualStack and get what the cluster has);
    /// ExternalName Services carry none. 422 for a family or policy the cluster cannot give.
    /// </summary>
    public static void FillFamilies(JsonObject svc, string family)
    {
        var spec = (JsonObject)svc["spec"]!;
        if (Type(svc) == "ExternalName")
        {
            foreach (var f in new[] { "clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy" }) spec.Remove(f);
            return;
        }
        var headlessSelectorless = ClusterIp(svc) == "None" && (spec["selector"] is not JsonObject sel || sel.Count == 0);
        spec["ipFamilyPolicy"] ??= headlessSelectorless ? "RequireDualStack" : "SingleStack";
        var policy = Str(svc, "ipFamilyPolicy");
        var name = Meta.Name(svc) ?? "";
        if (policy == "RequireDualStack" && !headlessSelectorless)
            throw ApiException.Invalid("", "Service", name, [("spec.ipFamilyPolicy", "Invalid value: \"RequireDualStack\": this cluster is not configured for dual-stack services")]);
        if (policy is not ("SingleStack" or "PreferDualStack" or "RequireDualStack"))
            throw ApiException.Invalid("", "Service", name, [("spec.ipFamilyPolicy", $"Unsupported value: \"{policy}\": supported values: \"PreferDualStack\", \"RequireDualStack\", \"SingleStack\"")]);
        if (spec["ipFamilies"] is JsonArray families && families.Count > 0)
        {
            for (int i = 0; i < families.Count; i++)
                if (families[i]?.GetValue<string>() is var f && f != family)
                    throw ApiException.Invalid("", "Service", name, [($"spec.ipFamilies[{i}]", $"Invalid value: \"{f}\": not configured on this cluster")]);
        }
        else spec["ipFamilies"] = new JsonArray(family);
    }

    /// <summary>
    /// Upstream's "patch allocated values" on update: a replace that leaves out clusterIP(s), ipFamilies or nodePorts
    /// keeps the stored ones (a nodePort is kept for the port of the same name, unless another port now uses it).
    /// </summary>
    public static void KeepAllocated(JsonObject old, JsonObject svc)
    {
        if (svc["spec"] is not JsonObject spec || old["spec"] is not JsonObject oldSpec) return;
        if (NeedsClusterIp(old) && Type(svc) != "ExternalName")
        {
            if (ClusterIp(svc).Length == 0 && spec["clusterIPs"] is not JsonArray { Count: > 0 })
            {
                spec["clusterIP"] = oldSpec["clusterIP"]?.DeepClone();
                spec["clusterIPs"] = oldSpec["clusterIPs"]?.DeepClone();
            }
        }
        if (Type(old) != "ExternalName" && Type(svc) != "ExternalName")
        {
            spec["ipFamilies"] ??= oldSpec["ipFamilies"]?.DeepClone();
            spec["ipFamilyPolicy"] ??= oldSpec["ipFamilyPolicy"]?.DeepClone();
        }
        if (NeedsNodePorts(old) && NeedsNodePorts(svc))
        {
            var used = Ports(svc).Select(NodePort).Where(n => n != 0).ToHashSet();
            var byName = new Dictionary<string, int>();
            foreach (var p in Ports(old)) byName[Obj.Str(p, "name") ?? ""] = NodePort(p);
            foreach (var p in Ports(svc))
                if (NodePort(p) == 0 && byName.TryGetValue(Obj.Str(p, "name") ?? "", out var kept) && kept != 0 && !used.Contains(kept))
                {
                    p["nodePort"] = kept;
                    used.Add(kept);
                }
        }
        else if (NeedsNodePorts(old) && !NeedsNodePorts(svc))
        {
            // Changing to ClusterIP drops the nodePorts the client sent back unchanged.
            var oldPorts = Ports(old).Select(NodePort).ToHashSet();
            foreach (var p in Ports(svc))
                if (NodePort(p) != 0 && oldPorts.Contains(NodePort(p))) p.Remove("nodePort");
        }
    }

    /// <summary>Go's <c>%#v</c> of a <c>[]string</c>, as upstream's field errors print values.</summary>
    public static string GoStrings(IEnumerable<string> values) => "[]string{" + string.Join(", ", values.Select(v => $"\"{v}\"")) + "}";

    static string? Str(JsonObject svc, string field) => svc["spec"]?[field] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
