// The agent's container runtime: containerd started under DIR through the supervisor, or an existing one attached to.
using Appliance.ClusterRuntime.Agent.Containerd;

namespace Appliance.ClusterRuntime.Agent.Node;

/// <summary>Where containerd lives for an agent, and how it is started.</summary>
internal static class ContainerRuntime
{
    /// <summary>containerd's directory: DIR/containerd (root, state and its socket, config.toml, containerd.log).</summary>
    public static string Directory(string dataDir) => Path.Combine(dataDir, "containerd");

    /// <summary>The CNI configuration directory containerd reads (DIR/cni/net.d); the pod networking writes it.</summary>
    public static string CniConfDir(string dataDir) => Path.Combine(dataDir, "cni", "net.d");

    /// <summary>The pod address allocations of the CNI host-local plugin (DIR/cni/networks), this agent's alone: in the
    /// plugin's default /var/lib/cni/networks every agent of a machine shared one last-reserved address, so a node
    /// handed out a just-freed pod IP again at once, while the neighbour caches still held the old pod's MAC.</summary>
    public static string CniIpamDir(string dataDir) => Path.Combine(dataDir, "cni", "networks");

    /// <summary>Where preloaded image archives are read from at start: DIR/images, the site's preloaded images in root-a, and the
    /// runtime release's own directory (its pause image, usr/lib/appliance/pause.oci.tar).</summary>
    public static IReadOnlyList<string> ImageDirectories(string dataDir) =>
        [Path.Combine(dataDir, "images"), "/var/lib/appliance/images", "/usr/lib/appliance"];

    /// <summary>Throws <see cref="AgentStartException"/> when containerd is to be started but is not installed.</summary>
    public static void CheckInstalled(AgentOptions options)
    {
        if (options.ContainerRuntimeEndpoint is null && !File.Exists(ContainerdSupervisor.DefaultBinary))
            throw new AgentStartException($"containerd is not installed ({ContainerdSupervisor.DefaultBinary} is missing); install it or give --container-runtime-endpoint");
    }

    /// <summary>The socket of the agent's containerd (CRI and containerd's own API): the endpoint given, or DIR's.</summary>
    public static string Socket(AgentOptions options) =>
        options.ContainerRuntimeEndpoint ?? new ContainerdConfig(Directory(options.DataDir), CniConfDir(options.DataDir)).SocketPath;

    /// <summary>
    /// Attaches to <see cref="AgentOptions.ContainerRuntimeEndpoint"/> when given, else writes containerd's config
    /// under DIR and starts it as a supervised child. Throws <see cref="ArgumentException"/> for an endpoint that is
    /// not a unix socket or a DIR too long for one.
    /// </summary>
    public static ContainerdSupervisor Start(AgentOptions options, Action<string> log)
    {
        if (options.ContainerRuntimeEndpoint is { } endpoint) return ContainerdSupervisor.Attach(endpoint, log);
        var cni = CniConfDir(options.DataDir);
        System.IO.Directory.CreateDirectory(cni);
        return ContainerdSupervisor.Start(new ContainerdConfig(Directory(options.DataDir), cni), log: log);
    }
}
