// The appliance-runtime command line a site runs: server (with its embedded agent) or agent, built from the profile.
using System.Net;

namespace Appliance.Firstboot.Device;

/// <summary>Which verb the device runs.</summary>
public enum RuntimeRole
{
    /// <summary><c>appliance-runtime server</c>, with its embedded agent.</summary>
    Server,
    /// <summary><c>appliance-runtime agent</c>, joining <see cref="RuntimeSettings.ServerUrl"/>.</summary>
    Agent,
}

/// <summary>What the runtime is started with; the lead fills it from site.yaml (node, cluster) and the network step.</summary>
/// <param name="Role">server or agent (<c>node.role</c>).</param>
/// <param name="DataDirectory">DATA, the mounted data partition (<c>/var/lib/appliance/data</c>).</param>
/// <param name="NodeName">The node name: <c>node.hostname</c>.</param>
public sealed record RuntimeSettings(RuntimeRole Role, string DataDirectory, string NodeName)
{
    /// <summary>The program (root-a's copy by default).</summary>
    public string Program { get; init; } = "/usr/lib/appliance/appliance-runtime";

    /// <summary>Where the pid file goes (tmpfs, so it never outlives a boot).</summary>
    public string RunDirectory { get; init; } = "/run/appliance";

    /// <summary><c>node.labels</c>.</summary>
    public IReadOnlyDictionary<string, string> NodeLabels { get; init; } = new Dictionary<string, string>();

    /// <summary><c>node.taints</c>, each as <c>key=value:Effect</c> or <c>key:Effect</c>.</summary>
    public IReadOnlyList<string> NodeTaints { get; init; } = [];

    /// <summary>The node's InternalIP: the first static address (<see cref="NetworkSettings.PrimaryStaticAddress"/>); null lets the runtime choose.</summary>
    public IPAddress? NodeIp { get; init; }

    /// <summary><c>cluster.clusterCidr</c> (server only).</summary>
    public string? ClusterCidr { get; init; }

    /// <summary><c>cluster.serviceCidr</c> (server only).</summary>
    public string? ServiceCidr { get; init; }

    /// <summary><c>cluster.clusterDns</c>.</summary>
    public string? ClusterDns { get; init; }

    /// <summary><c>cluster.server</c>: the server an agent joins.</summary>
    public Uri? ServerUrl { get; init; }

    /// <summary>An agent's token file (<c>DATA/secrets/token</c>); a server reads <c>DATA/runtime/token</c> itself.</summary>
    public string? TokenFile { get; init; }

    /// <summary>Arguments appended as they are (tests: <c>--disable-agent</c>, <c>--https-listen-port</c>).</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];
}

/// <summary>Turns <see cref="RuntimeSettings"/> into the <see cref="ProcessSpec"/> the supervisor runs.</summary>
public static class RuntimeCommand
{
    /// <summary>The runtime's data directory: <c>DATA/runtime</c> (server) or <c>DATA/runtime/agent</c> (agent).</summary>
    public static string DataDirectory(RuntimeSettings s) =>
        s.Role == RuntimeRole.Server ? Path.Combine(s.DataDirectory, "runtime") : Path.Combine(s.DataDirectory, "runtime", "agent");

    /// <summary>The log file: <c>DATA/logs/appliance-runtime.log</c> (rotated: .1 .. .3).</summary>
    public static string LogFile(RuntimeSettings s) => Path.Combine(s.DataDirectory, "logs", "appliance-runtime.log");

    /// <summary>
    /// <c>server --data-dir DATA/runtime [--cluster-cidr ..] [--service-cidr ..] [--cluster-dns ..] NODE FLAGS</c> or
    /// <c>agent --server URL --token-file F --data-dir DATA/runtime/agent [--cluster-dns ..] NODE FLAGS</c>, where the
    /// node flags are <c>--node-name</c>, <c>--node-ip</c>, <c>--node-label k=v</c>... and <c>--node-taint</c>...
    /// (labels in key order, so the command line is the same at every boot).
    /// </summary>
    /// <exception cref="ArgumentException">An agent without a server URL or token file.</exception>
    public static ProcessSpec Build(RuntimeSettings s)
    {
        var a = new List<string>();
        if (s.Role == RuntimeRole.Server)
        {
            a.AddRange(["server", "--data-dir", DataDirectory(s)]);
            if (s.ClusterCidr is { } cc) a.AddRange(["--cluster-cidr", cc]);
            if (s.ServiceCidr is { } sc) a.AddRange(["--service-cidr", sc]);
        }
        else
        {
            if (s.ServerUrl is null) throw new ArgumentException("an agent site needs cluster.server (the server to join)", nameof(s));
            if (s.TokenFile is null) throw new ArgumentException("an agent site needs the token file (DATA/secrets/token)", nameof(s));
            a.AddRange(["agent", "--server", s.ServerUrl.ToString().TrimEnd('/'), "--token-file", s.TokenFile, "--data-dir", DataDirectory(s)]);
        }
        if (s.ClusterDns is { } dns) a.AddRange(["--cluster-dns", dns]);
        a.AddRange(["--node-name", s.NodeName]);
        if (s.NodeIp is { } ip) a.AddRange(["--node-ip", ip.ToString()]);
        foreach (var (k, v) in s.NodeLabels.OrderBy(l => l.Key, StringComparer.Ordinal)) a.AddRange(["--node-label", $"{k}={v}"]);
        foreach (var t in s.NodeTaints) a.AddRange(["--node-taint", t]);
        a.AddRange(s.ExtraArguments);
        return new ProcessSpec("appliance-runtime", s.Program, a, LogFile(s), Path.Combine(s.RunDirectory, "appliance-runtime.pid"));
    }
}
