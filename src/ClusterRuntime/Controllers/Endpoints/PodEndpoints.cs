// What a pod contributes to a Service's endpoints: whether it counts, its readiness, address, hostname and ports.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;

namespace Appliance.ClusterRuntime.Controllers.Endpoints;

/// <summary>The rules upstream's endpoint and endpointslice controllers share (endpointslice util).</summary>
public static class PodEndpoints
{
    /// <summary>True when <paramref name="svc"/> has a non-empty selector (selector-less Services are left to their owner).</summary>
    public static bool HasSelector(JsonObject svc) => Obj.Object(svc, "spec", "selector") is { Count: > 0 };

    /// <summary>True when the pod's labels carry every key=value of the Service's selector.</summary>
    public static bool Selects(JsonObject svc, JsonObject pod) =>
        HasSelector(svc) && Obj.Object(svc, "spec", "selector")!.All(p => p.Value is JsonValue v && v.TryGetValue<string>(out var s) && Meta.Label(pod, p.Key) == s);

    /// <summary>
    /// Upstream's ShouldPodBeInEndpoints: not terminal (Succeeded/Failed), has an IP, and not being deleted unless
    /// <paramref name="includeTerminating"/>.
    /// </summary>
    public static bool Counts(JsonObject pod, bool includeTerminating) =>
        !PodState.IsTerminal(pod)
        && Ip(pod) is not null
        && (includeTerminating || !Obj.IsDeleting(pod));

    /// <summary>The pod's (first) IP, or null.</summary>
    public static string? Ip(JsonObject pod) =>
        Obj.Str(pod, "status", "podIP") is { Length: > 0 } ip ? ip
        : Obj.Items(pod, "status", "podIPs").Select(p => Obj.Str(p, "ip")).FirstOrDefault(s => !string.IsNullOrEmpty(s));

    /// <summary>The pod's hostname in the Service's DNS, when it sets hostname and a subdomain equal to the Service's name.</summary>
    public static string? Hostname(JsonObject pod, JsonObject svc) =>
        Obj.Str(pod, "spec", "hostname") is { Length: > 0 } h && Obj.Str(pod, "spec", "subdomain") == Meta.Name(svc) && Meta.Namespace(pod) == Meta.Namespace(svc) ? h : null;

    /// <summary>"IPv6" for an IPv6 address, else "IPv4".</summary>
    public static string AddressType(string ip) => ip.Contains(':') ? "IPv6" : "IPv4";

    /// <summary>A targetRef to the pod.</summary>
    public static JsonObject TargetRef(JsonObject pod) => new()
    {
        ["kind"] = "Pod",
        ["namespace"] = Meta.Namespace(pod),
        ["name"] = Meta.Name(pod),
        ["uid"] = Obj.Uid(pod),
    };

    /// <summary>
    /// The endpoint ports of the Service's ports on this pod: a numeric targetPort as is, a named one resolved against
    /// the pod's container ports of the same name and protocol (a port the pod does not have is left out).
    /// </summary>
    public static List<JsonObject> Ports(JsonObject svc, JsonObject pod)
    {
        var result = new List<JsonObject>();
        foreach (var sp in Obj.Items(svc, "spec", "ports"))
        {
            var protocol = Obj.Str(sp, "protocol") ?? "TCP";
            int? number = Obj.At(sp, "targetPort") switch
            {
                JsonValue v when v.TryGetValue<string>(out var name) => FindNamed(pod, name, protocol),
                JsonValue when Obj.Int(sp, 0, "targetPort") is > 0 and var n => n,
                _ => Obj.Int(sp, 0, "port"),
            };
            if (number is not int port) continue;
            var ep = new JsonObject { ["name"] = Obj.Str(sp, "name") ?? "", ["port"] = port, ["protocol"] = protocol };
            if (Obj.Str(sp, "appProtocol") is { } app) ep["appProtocol"] = app;
            result.Add(ep);
        }
        return result;
    }

    static int? FindNamed(JsonObject pod, string name, string protocol)
    {
        if (int.TryParse(name, out var n)) return n;
        foreach (var c in Obj.Items(pod, "spec", "containers"))
            foreach (var p in Obj.Items(c, "ports"))
                if (Obj.Str(p, "name") == name && (Obj.Str(p, "protocol") ?? "TCP") == protocol)
                    return Obj.Int(p, 0, "containerPort");
        return null;
    }

    /// <summary>The labels an endpoints object takes from its Service, plus the headless marker for a headless one.</summary>
    public static JsonObject LabelsFrom(JsonObject svc)
    {
        var labels = Obj.Object(svc, "metadata", "labels")?.DeepClone().AsObject() ?? new JsonObject();
        if (Obj.Str(svc, "spec", "clusterIP") == "None") labels["service.kubernetes.io/headless"] = "";
        return labels;
    }
}
