// What the scheduler needs to know about one pod, read once from its spec.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;

namespace Appliance.ClusterRuntime.Controllers.Scheduler;

/// <summary>A host port a container asks for; <c>0.0.0.0</c> conflicts with every address.</summary>
public sealed record HostPort(string Ip, string Protocol, int Port)
{
    /// <summary>True when both cannot be bound on one node.</summary>
    public bool Conflicts(HostPort other) =>
        Port == other.Port && Protocol == other.Protocol && (Ip == other.Ip || Ip == "0.0.0.0" || other.Ip == "0.0.0.0");
}

/// <summary>A pod's scheduling facts: requests (milli-units per resource name), owner, priority, ports.</summary>
public sealed class PodFacts
{
    /// <summary>Requests upstream assumes for a container that asks for no cpu (scoring only).</summary>
    public const long DefaultMilliCpu = 100;

    /// <summary>Requests upstream assumes for a container that asks for no memory (scoring only), in milli-bytes.</summary>
    public const long DefaultMilliMemory = 200L * 1024 * 1024 * 1000;

    PodFacts(JsonObject pod)
    {
        Pod = pod;
        Key = Informer.KeyOf(pod);
        Spec = Obj.Object(pod, "spec");
        Requests = ComputeRequests(Spec, nonZero: false);
        NonZero = ComputeRequests(Spec, nonZero: true);
        OwnerUid = Obj.ControllerRef(pod) is { } owner ? Obj.Str(owner, "uid") : null;
        Priority = Obj.Int(pod, 0, "spec", "priority");
        Tolerations = Obj.Items(Spec, "tolerations").ToList();
        Ports = Containers(Spec).SelectMany(c => Obj.Items(c, "ports"))
            .Where(p => Obj.Int(p, 0, "hostPort") > 0)
            .Select(p => new HostPort(Obj.Str(p, "hostIP") is { Length: > 0 } ip ? ip : "0.0.0.0", Obj.Str(p, "protocol") ?? "TCP", Obj.Int(p, 0, "hostPort")))
            .ToList();
    }

    /// <summary>The pod (shared informer object: read only).</summary>
    public JsonObject Pod { get; }
    /// <summary><c>namespace/name</c>.</summary>
    public string Key { get; }
    /// <summary>The pod spec.</summary>
    public JsonObject? Spec { get; }
    /// <summary>Requests in milli-units by resource name (cpu in millicores, memory in milli-bytes).</summary>
    public IReadOnlyDictionary<string, long> Requests { get; }
    /// <summary>cpu and memory requests with upstream's non-zero defaults, for scoring.</summary>
    public IReadOnlyDictionary<string, long> NonZero { get; }
    /// <summary>Uid of the controlling owner, or null.</summary>
    public string? OwnerUid { get; }
    /// <summary><c>spec.priority</c> (0 when unset).</summary>
    public int Priority { get; }
    /// <summary><c>spec.tolerations</c>.</summary>
    public IReadOnlyList<JsonObject> Tolerations { get; }
    /// <summary>Host ports of its containers.</summary>
    public IReadOnlyList<HostPort> Ports { get; }

    /// <summary>Reads the facts of <paramref name="pod"/>.</summary>
    public static PodFacts Of(JsonObject pod) => new(pod);

    /// <summary>True when the default scheduler should place <paramref name="pod"/>: unbound, ours, alive, not gated.</summary>
    public static bool NeedsScheduling(JsonObject pod) =>
        string.IsNullOrEmpty(Obj.Str(pod, "spec", "nodeName"))
        && (Obj.Str(pod, "spec", "schedulerName") ?? "") is "" or Scheduler.SchedulerName
        && !Obj.IsDeleting(pod)
        && !PodState.IsTerminal(pod) // terminal pods no longer hold resources on their node
        && !Obj.Items(pod, "spec", "schedulingGates").Any();

    static IEnumerable<JsonObject> Containers(JsonObject? spec) => Obj.Items(spec, "containers").Concat(Obj.Items(spec, "initContainers"));

    /// <summary>
    /// Upstream's PodRequests: the sum over containers, plus restartable init containers (sidecars) that run beside
    /// them, or the largest need of the init phase when that is more (each ordinary init container runs alone with
    /// the sidecars started before it), plus <c>spec.overhead</c>. A request missing where a limit is set is the limit.
    /// </summary>
    static Dictionary<string, long> ComputeRequests(JsonObject? spec, bool nonZero)
    {
        var running = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var c in Obj.Items(spec, "containers")) Add(running, Container(c, nonZero));
        var sidecars = new Dictionary<string, long>(StringComparer.Ordinal);
        var initPeak = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var c in Obj.Items(spec, "initContainers"))
        {
            var own = Container(c, nonZero);
            if (Obj.Str(c, "restartPolicy") == "Always")
            {
                Add(sidecars, own);
                Max(initPeak, sidecars);
            }
            else
            {
                var step = new Dictionary<string, long>(own, StringComparer.Ordinal);
                Add(step, sidecars);
                Max(initPeak, step);
            }
        }
        Add(running, sidecars);
        Max(running, initPeak);
        if (!nonZero) foreach (var (name, q) in Obj.Object(spec, "overhead") ?? []) Add(running, new Dictionary<string, long> { [name] = Quantity.Milli(q) });
        return running;
    }

    static Dictionary<string, long> Container(JsonObject c, bool nonZero)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        var requests = Obj.Object(c, "resources", "requests");
        var limits = Obj.Object(c, "resources", "limits");
        foreach (var (name, q) in limits ?? []) result[name] = Quantity.Milli(q);
        foreach (var (name, q) in requests ?? []) result[name] = Quantity.Milli(q);
        if (nonZero)
        {
            if (result.GetValueOrDefault("cpu") == 0) result["cpu"] = DefaultMilliCpu;
            if (result.GetValueOrDefault("memory") == 0) result["memory"] = DefaultMilliMemory;
            foreach (var name in result.Keys.Where(k => k is not ("cpu" or "memory")).ToList()) result.Remove(name);
        }
        return result;
    }

    /// <summary>Adds <paramref name="b"/> into <paramref name="a"/>.</summary>
    public static void Add(Dictionary<string, long> a, IReadOnlyDictionary<string, long> b)
    {
        foreach (var (k, v) in b) a[k] = a.GetValueOrDefault(k) + v;
    }

    /// <summary>Subtracts <paramref name="b"/> from <paramref name="a"/>.</summary>
    public static void Subtract(Dictionary<string, long> a, IReadOnlyDictionary<string, long> b)
    {
        foreach (var (k, v) in b) a[k] = a.GetValueOrDefault(k) - v;
    }

    static void Max(Dictionary<string, long> a, IReadOnlyDictionary<string, long> b)
    {
        foreach (var (k, v) in b) a[k] = Math.Max(a.GetValueOrDefault(k), v);
    }
}
