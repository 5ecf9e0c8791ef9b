// The cluster's network settings as the servers publish them (kube-system/appliance-cluster), read by the agent.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Network;

/// <summary>Pod and service ranges, cluster DNS address and domain, NodePort range (the server's flags).</summary>
public sealed record ClusterSettings(IPNetwork ClusterCidr, IPNetwork ServiceCidr, IPAddress ClusterDns, string Domain, int NodePortMin, int NodePortMax)
{
    /// <summary>Where the servers publish them (<c>Controllers/KubernetesService/ClusterNetworkConfig.cs</c>).</summary>
    public const string Path = "/api/v1/namespaces/kube-system/configmaps/appliance-cluster";

    /// <summary>Reads the settings from the ConfigMap's data; throws <see cref="InvalidDataException"/> naming a bad key.</summary>
    public static ClusterSettings Parse(JsonObject configMap)
    {
        string Key(string key) => Obj.Str(configMap, "data", key) ?? throw new InvalidDataException($"{Path}: data.{key} is missing");
        IPNetwork Cidr(string key) => IPNetwork.TryParse(Key(key), out var n) ? n : throw new InvalidDataException($"{Path}: data.{key} \"{Key(key)}\" is not a CIDR");
        var dns = IPAddress.TryParse(Key("clusterDNS"), out var d) ? d : throw new InvalidDataException($"{Path}: data.clusterDNS \"{Key("clusterDNS")}\" is not an IP address");
        var range = Key("nodePortRange").Split('-');
        if (range.Length != 2 || !int.TryParse(range[0], out var min) || !int.TryParse(range[1], out var max))
            throw new InvalidDataException($"{Path}: data.nodePortRange \"{Key("nodePortRange")}\" is not FIRST-LAST");
        return new ClusterSettings(Cidr("clusterCIDR"), Cidr("serviceCIDR"), dns, Key("clusterDomain"), min, max);
    }

    /// <summary>Reads them from the API, retrying every 2 s until they are there (a server still starting).</summary>
    public static async Task<ClusterSettings> LoadAsync(ApiClient api, ILogger logger, CancellationToken ct)
    {
        string? last = null;
        while (true)
        {
            try
            {
                if (await api.GetAsync(Path, ct) is { } cm) return Parse(cm);
                if (last != "missing") logger.LogWarning("waiting for the cluster's network settings ({Path} is not there yet)", Path);
                last = "missing";
            }
            catch (Exception e) when (e is HttpRequestException or ApiStatusException or InvalidDataException)
            {
                if (e.Message != last) logger.LogWarning("reading the cluster's network settings: {Error}; retrying", e.Message);
                last = e.Message;
            }
            await Task.Delay(TimeSpan.FromSeconds(2), ct);
        }
    }
}
