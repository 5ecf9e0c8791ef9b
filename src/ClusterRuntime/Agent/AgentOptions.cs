// The agent verb's options after parsing.
using System.Net;
using Appliance.ClusterRuntime.Agent.Node;

namespace Appliance.ClusterRuntime.Agent;

/// <summary>What <c>appliance-runtime agent</c> was asked to do.</summary>
public sealed record AgentOptions
{
    /// <summary>--server: the API server to join (https://HOST:PORT).</summary>
    public required Uri Server { get; init; }
    /// <summary>--token or the contents of --token-file.</summary>
    public required string Token { get; init; }
    /// <summary>--data-dir.</summary>
    public required string DataDir { get; init; }
    /// <summary>--node-name (default: the host name, lower case).</summary>
    public required string NodeName { get; init; }
    /// <summary>--node-ip, or null to choose one (Node/NodeIp.cs).</summary>
    public IPAddress? NodeIp { get; init; }
    /// <summary>--node-label values.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    /// <summary>--node-taint values.</summary>
    public IReadOnlyList<Taint> Taints { get; init; } = [];
    /// <summary>--container-runtime-endpoint: an existing containerd socket to attach to instead of starting one.</summary>
    public string? ContainerRuntimeEndpoint { get; init; }
    /// <summary>--kubelet-port: the kubelet API port (10250; 0 picks a free one).</summary>
    public int KubeletPort { get; init; } = KubeletApi.KubeletServer.DefaultPort;
    /// <summary>--pod-log-dir: where the pods' container logs are (ROOT/&lt;ns&gt;_&lt;pod&gt;_&lt;uid&gt;/&lt;container&gt;/&lt;restart&gt;.log).</summary>
    public string PodLogDir { get; init; } = Kubelet.Logs.PodLogLocator.DefaultRoot;
    /// <summary>--cluster-dns: the nameserver of pods with dnsPolicy ClusterFirst; null: the server's published one.</summary>
    public IPAddress? ClusterDns { get; init; }
    /// <summary>Not --disable-network: the agent keeps routes to the other nodes' pods and serves cluster DNS.</summary>
    public bool Network { get; init; } = true;
    /// <summary>--node-iface: the interface the routes to other nodes use (multi-NIC machines); null: the kernel's choice.</summary>
    public string? NodeIface { get; init; }
    /// <summary>The node's resolver configuration: cluster DNS forwards other names to its nameservers.</summary>
    public string ResolvConf { get; init; } = "/etc/resolv.conf";
}
