// Cluster-wide settings the controllers and the scheduler act on (server flags).
using System.Net;

namespace Appliance.ClusterRuntime.Controllers.Machinery;

/// <summary>What the controllers need to know about the cluster; defaults are K3s's.</summary>
public sealed record ControllerOptions
{
    /// <summary>Range node pod CIDRs are carved from (K3s <c>--cluster-cidr</c>).</summary>
    public IPNetwork ClusterCidr { get; init; } = IPNetwork.Parse("10.42.0.0/16");
    /// <summary>Prefix length of each node's pod CIDR.</summary>
    public int NodeCidrMaskSize { get; init; } = 24;
    /// <summary>Range ClusterIPs are allocated from; its first address is the <c>kubernetes</c> Service.</summary>
    public IPNetwork ServiceCidr { get; init; } = IPNetwork.Parse("10.43.0.0/16");
    /// <summary>ClusterIP reserved for cluster DNS.</summary>
    public IPAddress ClusterDns { get; init; } = IPAddress.Parse("10.43.0.10");
    /// <summary>First NodePort.</summary>
    public int NodePortMin { get; init; } = 30000;
    /// <summary>Last NodePort.</summary>
    public int NodePortMax { get; init; } = 32767;
    /// <summary>How long a node's Lease may go unrenewed before the node is Ready=Unknown (upstream 40 s).</summary>
    public TimeSpan NodeMonitorGracePeriod { get; init; } = TimeSpan.FromSeconds(40);
    /// <summary>tolerationSeconds given to pods for the not-ready and unreachable taints (upstream 300).</summary>
    public int DefaultTolerationSeconds { get; init; } = 300;
    /// <summary>The clock of time-driven controllers (CronJob, Job deadlines, node monitor); tests may shift it.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
    /// <summary>Directory of auto-deploy manifests (<c>DATA_DIR/server/manifests</c>); null turns it off.</summary>
    public string? ManifestsDir { get; init; }
    /// <summary>The CA bundle that verifies the API server, published as every namespace's kube-root-ca.crt; null: not published.</summary>
    public string? RootCaPem { get; init; }
}
