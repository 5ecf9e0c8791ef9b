// The node's CNI network: a bridge with host-local addresses from the Node's podCIDR, and portmap for hostPorts.
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Appliance.Common;

namespace Appliance.ClusterRuntime.Agent.Kubelet;

/// <summary>
/// Writes <c>10-appliance.conflist</c> into containerd's CNI conf dir. containerd reports NetworkReady once a conflist
/// is there, so this is written only when the Node has a podCIDR. The bridge plugin masquerades only when asked
/// (<c>ipMasq</c>): its rule hides a pod's address from pods on other nodes too, so when the agent's own network runs
/// (which masquerades only traffic leaving the cluster range) it is off.
/// </summary>
public static class CniConfig
{
    /// <summary>The file name in the conf dir.</summary>
    public const string FileName = "10-appliance.conflist";

    /// <summary>The bridge interface pods attach to.</summary>
    public const string Bridge = "cni0";

    /// <summary>Writes the conflist for <paramref name="podCidr"/> (unchanged content is not rewritten). Returns its path.</summary>
    public static string Write(string confDir, string podCidr, bool ipMasq, string? ipamDir = null)
    {
        var text = Render(podCidr, ipMasq, ipamDir);
        var path = Path.Combine(confDir, FileName);
        Directory.CreateDirectory(confDir);
        if (!File.Exists(path) || File.ReadAllText(path) != text) AtomicFile.WriteText(path, text);
        return path;
    }

    /// <summary>The conflist for <paramref name="podCidr"/>; the gateway is the range's first address. With
    /// <paramref name="ipMasq"/> the bridge plugin masquerades whatever pods send outside their node's range;
    /// <paramref name="ipamDir"/> is where host-local keeps its allocations (null: its default).</summary>
    public static string Render(string podCidr, bool ipMasq, string? ipamDir = null)
    {
        if (!IPNetwork.TryParse(podCidr, out var net) || net.BaseAddress.AddressFamily != AddressFamily.InterNetwork)
            throw new InvalidDataException($"podCIDR \"{podCidr}\" is not an IPv4 CIDR");
        var gateway = FirstAddress(net);
        var ipam = new JsonObject
        {
            ["type"] = "host-local",
            ["ranges"] = new JsonArray(new JsonArray(new JsonObject { ["subnet"] = net.ToString(), ["gateway"] = gateway.ToString() })),
            ["routes"] = new JsonArray(new JsonObject { ["dst"] = "0.0.0.0/0" }),
        };
        if (ipamDir is not null) ipam["dataDir"] = ipamDir;
        var config = new JsonObject
        {
            ["cniVersion"] = "0.4.0",
            ["name"] = "appliance-pods",
            ["plugins"] = new JsonArray(
                new JsonObject
                {
                    ["type"] = "bridge",
                    ["bridge"] = Bridge,
                    ["isGateway"] = true,
                    ["ipMasq"] = ipMasq,
                    ["hairpinMode"] = true,
                    ["ipam"] = ipam,
                },
                new JsonObject { ["type"] = "portmap", ["capabilities"] = new JsonObject { ["portMappings"] = true } }),
        };
        return config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>The address after the network address (10.42.0.0/24 → 10.42.0.1).</summary>
    public static IPAddress FirstAddress(IPNetwork net)
    {
        var bytes = net.BaseAddress.GetAddressBytes();
        for (int i = bytes.Length - 1; i >= 0 && ++bytes[i] == 0; i--) { }
        return new IPAddress(bytes);
    }
}
