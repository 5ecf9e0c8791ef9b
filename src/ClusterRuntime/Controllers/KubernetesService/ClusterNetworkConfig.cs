// The cluster's network settings, published by every server as the ConfigMap kube-system/appliance-cluster for agents.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.KubernetesService;

/// <summary>
/// What an agent must know of the cluster's flags to do its networking (K3s hands these to agents from its
/// <c>/v1-k3s/config</c>; kubeadm keeps them in ConfigMaps): the pod and service ranges, the cluster DNS address and
/// domain, the NodePort range. Each server checks it on every pass of its kubernetes Service reconciler (at start
/// and every 10 s), so a deleted ConfigMap comes back; servers sharing a datastore must agree, and one that finds
/// other values overwrites them with a warning (the flags it was started with win).
/// </summary>
public static class ClusterNetworkConfig
{
    /// <summary>Where the settings are published.</summary>
    public const string Namespace = "kube-system", Name = "appliance-cluster";

    /// <summary>The cluster domain (fixed, as K3s's default).</summary>
    public const string Domain = "cluster.local";

    static readonly ApiResource ConfigMaps = Obj.Resource("", "configmaps");

    /// <summary>The ConfigMap's data for <paramref name="options"/>.</summary>
    public static JsonObject Data(ControllerOptions options) => new()
    {
        ["clusterCIDR"] = options.ClusterCidr.ToString(),
        ["serviceCIDR"] = options.ServiceCidr.ToString(),
        ["clusterDNS"] = options.ClusterDns.ToString(),
        ["clusterDomain"] = Domain,
        ["nodePortRange"] = $"{options.NodePortMin}-{options.NodePortMax}",
    };

    /// <summary>Creates or corrects the ConfigMap; returns whether it had to change an existing one.</summary>
    public static async Task<bool> PublishAsync(Api.Storage.ObjectStore store, ControllerOptions options, CancellationToken ct)
    {
        var data = Data(options);
        var (kv, current) = await store.TryGetAsync(ConfigMaps, Namespace, Name, ct);
        if (current is null)
        {
            try
            {
                await store.CreateAsync(ConfigMaps, Namespace, new JsonObject
                {
                    ["metadata"] = new JsonObject { ["name"] = Name, ["namespace"] = Namespace },
                    ["data"] = data,
                }, ct);
                return false;
            }
            catch (ApiException e) when (e.Code == 409)
            {
                // Another server created it just now: only a difference is a change.
                (_, current) = await store.TryGetAsync(ConfigMaps, Namespace, Name, ct);
            }
        }
        if (current is not null && JsonNode.DeepEquals(current["data"], data)) return false;
        await store.UpdateAsync(ConfigMaps, Namespace, Name, cm =>
        {
            cm["data"] = data.DeepClone();
            return cm;
        }, statusOnly: false, ct);
        return true;
    }
}
