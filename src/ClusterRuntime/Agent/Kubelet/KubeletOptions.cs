// What the kubelet needs to know about its node and where it keeps things.
namespace Appliance.ClusterRuntime.Agent.Kubelet;

/// <summary>The kubelet's settings.</summary>
/// <param name="NodeName">The Node this kubelet runs pods for (pods with <c>spec.nodeName</c> equal to it).</param>
/// <param name="NodeIp">The node's IP: status.hostIP, and podIP of hostNetwork pods.</param>
/// <param name="PodLogRoot">Where pod log directories go (<c>/var/log/pods</c> on a real node).</param>
/// <param name="CniConfDir">containerd's CNI conf dir (<see cref="Containerd.ContainerdConfig"/>'s).</param>
public sealed record KubeletOptions(string NodeName, string NodeIp, string PodLogRoot, string CniConfDir)
{
    /// <summary>How often every pod is synced again, and CRI state read, without an event.</summary>
    public TimeSpan Resync { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The cluster DNS Service IP pods with dnsPolicy ClusterFirst use (K3s's 10.43.0.10); null: none known.</summary>
    public string? ClusterDns { get; init; } = "10.43.0.10";

    /// <summary>The cluster's DNS domain.</summary>
    public string ClusterDomain { get; init; } = "cluster.local";

    /// <summary>Whether the CNI bridge masquerades pod traffic leaving the node's pod range: only when nothing else
    /// does (<c>--disable-network</c>); the agent's Service proxy table masquerades just what leaves the cluster range,
    /// so pods on other nodes see a pod's own address.</summary>
    public bool CniMasquerade { get; init; } = true;

    /// <summary>The host-local IPAM plugin's data directory; null: the plugin's default (/var/lib/cni/networks).</summary>
    public string? CniIpamDir { get; init; }

    /// <summary>A directory on the file system containerd unpacks images into (its root); null: none. containerd 1.6
    /// unpacks an image's layers when the first container of it is created and does not sync them, so a power loss
    /// within the kernel's writeback delay (about 30 s) left empty files in the unpacked layers, and every later
    /// container of that image failed. After each container is created the kubelet syncs this file system (syncfs)
    /// before starting it.</summary>
    public string? UnpackRoot { get; init; }

    /// <summary>The node's resolv.conf, for dnsPolicy Default (and hostNetwork pods); null or a missing file: none.</summary>
    public string? ResolvConf { get; init; } = "/etc/resolv.conf";
}
