// Builds the Node's status from the machine and the container runtime, as the kubelet reports it.
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Agent.Node;

/// <summary>The status part of the Node object; pure, so a test can check it from given facts.</summary>
public static class NodeStatus
{
    /// <summary>The kubelet version this agent reports (the API it speaks).</summary>
    public const string KubeletVersion = "v1.32.0";

    /// <summary>The pods a node takes (the kubelet's default <c>--max-pods</c>).</summary>
    public const int MaxPods = 110;

    /// <summary>At most this many images are listed in <c>status.images</c>, the largest first (the kubelet's default).</summary>
    public const int MaxImages = 50;

    /// <summary>The kubelet API port (daemonEndpoints.kubeletEndpoint.Port).</summary>
    public const int KubeletPort = 10250;

    /// <summary>
    /// The status: addresses, capacity and allocatable, nodeInfo, daemonEndpoints, images and the four conditions. A
    /// condition keeps its <c>lastTransitionTime</c> from <paramref name="previous"/> while its status is unchanged.
    /// </summary>
    public static JsonObject Build(string nodeName, IPAddress ip, MachineInfo m, RuntimeReport runtime, JsonArray? previous, DateTimeOffset now, int kubeletPort = KubeletPort)
    {
        var resources = new JsonObject
        {
            ["cpu"] = m.Cpus.ToString(CultureInfo.InvariantCulture),
            ["memory"] = $"{m.MemoryBytes / 1024}Ki",
            ["pods"] = MaxPods.ToString(CultureInfo.InvariantCulture),
            ["ephemeral-storage"] = $"{m.StorageBytes / 1024}Ki",
        };
        var time = Api.Storage.Meta.Time(now);
        JsonObject Condition(string type, bool isTrue, string reason, string message)
        {
            var status = isTrue ? "True" : "False";
            var old = previous?.OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == type);
            var transition = old?["status"]?.GetValue<string>() == status && old["lastTransitionTime"]?.GetValue<string>() is { } t ? t : time;
            return new JsonObject
            {
                ["type"] = type, ["status"] = status, ["reason"] = reason, ["message"] = message,
                ["lastHeartbeatTime"] = time, ["lastTransitionTime"] = transition,
            };
        }
        return new JsonObject
        {
            ["addresses"] = new JsonArray(
                new JsonObject { ["type"] = "InternalIP", ["address"] = ip.ToString() },
                new JsonObject { ["type"] = "Hostname", ["address"] = nodeName }),
            ["capacity"] = resources,
            ["allocatable"] = resources.DeepClone(),
            ["conditions"] = new JsonArray(
                m.MemoryPressure
                    ? Condition("MemoryPressure", true, "KubeletHasInsufficientMemory", $"kubelet has insufficient memory available ({m.MemoryAvailableBytes >> 20} MiB < 100 MiB)")
                    : Condition("MemoryPressure", false, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                m.DiskPressure
                    ? Condition("DiskPressure", true, "KubeletHasDiskPressure", "kubelet has disk pressure (less than 10% of the data directory's filesystem free)")
                    : Condition("DiskPressure", false, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                m.PidPressure
                    ? Condition("PIDPressure", true, "KubeletHasInsufficientPID", $"kubelet has insufficient PID available ({m.Tasks} of {m.TaskLimit} in use)")
                    : Condition("PIDPressure", false, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                runtime.Ready
                    ? Condition("Ready", true, "KubeletReady", "kubelet is posting ready status")
                    : Condition("Ready", false, runtime.Reason, runtime.Message)),
            ["daemonEndpoints"] = new JsonObject { ["kubeletEndpoint"] = new JsonObject { ["Port"] = kubeletPort } },
            ["images"] = new JsonArray([.. runtime.Images
                .Where(i => i.Names.Count > 0)
                .OrderByDescending(i => i.SizeBytes).ThenBy(i => i.Names[0], StringComparer.Ordinal)
                .Take(MaxImages)
                .Select(i => new JsonObject { ["names"] = new JsonArray([.. i.Names.Select(n => (JsonNode)n)]), ["sizeBytes"] = i.SizeBytes })]),
            ["nodeInfo"] = new JsonObject
            {
                ["architecture"] = m.Architecture,
                ["bootID"] = m.BootId,
                ["containerRuntimeVersion"] = runtime.Version,
                ["kernelVersion"] = m.KernelVersion,
                ["kubeProxyVersion"] = KubeletVersion,
                ["kubeletVersion"] = KubeletVersion,
                ["machineID"] = m.MachineId,
                ["operatingSystem"] = "linux",
                ["osImage"] = m.OsImage,
                ["systemUUID"] = m.SystemUuid,
            },
        };
    }

    /// <summary>True when two statuses differ in more than heartbeat times (a change is pushed at once).</summary>
    public static bool Changed(JsonObject? last, JsonObject next)
    {
        if (last is null) return true;
        static string Strip(JsonObject s)
        {
            var copy = s.DeepClone().AsObject();
            foreach (var c in copy["conditions"]?.AsArray().OfType<JsonObject>() ?? []) c.Remove("lastHeartbeatTime");
            // Free memory and disk move all the time; only their effect (the conditions) counts as a change.
            return copy.ToJsonString();
        }
        return Strip(last) != Strip(next);
    }

    /// <summary>A Node's first IPv4 <c>InternalIP</c> (the address routes, proxies and load balancers use), or null.</summary>
    public static IPAddress? InternalIpv4(JsonObject node) =>
        Obj.Items(node, "status", "addresses").Where(a => Obj.Str(a, "type") == "InternalIP")
            .Select(a => IPAddress.TryParse(Obj.Str(a, "address"), out var ip) ? ip : null)
            .FirstOrDefault(ip => ip?.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
}
