// Removes the pods' bridge (cni0) and the pod veths on it, for `agent --cleanup`.
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Kubelet;

namespace Appliance.ClusterRuntime.Agent.Network;

/// <summary>
/// The CNI bridge plugin makes <see cref="CniConfig.Bridge"/> on the first pod and keeps it after the last one is gone;
/// the host ends of pod veths go with their sandboxes. <c>--cleanup</c> removes the bridge and any veth still on it (a
/// pod still running then loses its network: stop the pods first). A link of that name that is not a bridge is left.
/// </summary>
internal static class PodBridge
{
    /// <summary>Deletes the veths enslaved to the bridge, then the bridge; nothing when there is none.</summary>
    public static async Task RemoveAsync(HostCommand host, CancellationToken ct)
    {
        var bridge = await host.RunAsync("ip", ["-j", "-d", "link", "show", "dev", CniConfig.Bridge], ct: ct);
        if (!bridge.Ok || Links(bridge.Out).FirstOrDefault()?["linkinfo"]?["info_kind"]?.GetValue<string>() != "bridge") return;
        var ports = await host.RunAsync("ip", ["-j", "-d", "link", "show", "master", CniConfig.Bridge], ct: ct);
        foreach (var port in Links(ports.Ok ? ports.Out : "[]").Where(l => l["linkinfo"]?["info_kind"]?.GetValue<string>() == "veth"))
            await host.RunAsync("ip", ["link", "delete", "dev", (string)port["ifname"]!], ct: ct);
        await host.RunCheckedAsync("ip", ["link", "delete", "dev", CniConfig.Bridge], ct: ct);
    }

    static IEnumerable<JsonObject> Links(string json)
    {
        try { return (JsonNode.Parse(json.Length == 0 ? "[]" : json) as JsonArray ?? []).OfType<JsonObject>(); }
        catch (JsonException) { return []; }
    }
}
