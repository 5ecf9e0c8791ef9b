// The `appliance-runtime agent` verb: options, checked into AgentOptions (bad ones: one line, exit 2).
using Appliance.Common.Pki;
using System.CommandLine;
using System.Net;
using Appliance.ClusterRuntime.Agent.Node;
using Appliance.ClusterRuntime.Pki;

namespace Appliance.ClusterRuntime.Agent;

/// <summary>Defines the agent verb.</summary>
public static class AgentCommandDefinition
{
    /// <summary>--server.</summary>
    public static readonly Option<string?> Server = new("--server", "-s") { Description = "API server to join, https://HOST:PORT (required unless --cleanup)" };
    /// <summary>--token.</summary>
    public static readonly Option<string?> Token = new("--token", "-t") { Description = "Node token K10<ca-hash>::server:<secret> (a server's DIR/token)" };
    /// <summary>--token-file.</summary>
    public static readonly Option<string?> TokenFile = new("--token-file") { Description = "File holding the node token" };
    /// <summary>--data-dir.</summary>
    public static readonly Option<string> DataDir = new("--data-dir", "-d")
    {
        Description = "Directory for the node password, certificates and container runtime state",
        DefaultValueFactory = _ => "/var/lib/appliance-runtime/agent",
    };
    /// <summary>--node-name.</summary>
    public static readonly Option<string?> NodeName = new("--node-name") { Description = "Node name (default: the host name)" };
    /// <summary>--node-ip.</summary>
    public static readonly Option<string?> NodeIp = new("--node-ip") { Description = "Node InternalIP (default: the source address of the route to the server)" };
    /// <summary>--node-label (repeatable).</summary>
    public static readonly Option<string[]> NodeLabel = new("--node-label") { Description = "Label key=value for the node (repeatable)", DefaultValueFactory = _ => [] };
    /// <summary>--node-taint (repeatable).</summary>
    public static readonly Option<string[]> NodeTaint = new("--node-taint") { Description = "Taint key=value:Effect for the node (repeatable)", DefaultValueFactory = _ => [] };
    /// <summary>--container-runtime-endpoint.</summary>
    public static readonly Option<string?> RuntimeEndpoint = new("--container-runtime-endpoint")
    {
        Description = "Attach to this containerd socket instead of starting containerd",
    };

    /// <summary>--kubelet-port.</summary>
    public static readonly Option<int> KubeletPort = new("--kubelet-port")
    {
        Description = "Port of the kubelet API (container logs for the API server; 0 picks a free one)",
        DefaultValueFactory = _ => KubeletApi.KubeletServer.DefaultPort,
    };
    /// <summary>--pod-log-dir.</summary>
    public static readonly Option<string> PodLogDir = new("--pod-log-dir")
    {
        Description = "Directory of the pods' container log files (default DATA_DIR/pods)",
    };

    /// <summary>--cluster-dns (agent verb only: the server verb has its own, which its embedded agent follows).</summary>
    public static readonly Option<string?> ClusterDns = new("--cluster-dns")
    {
        Description = "Cluster DNS address written into pods' resolv.conf and served by the agent (default: the server's --cluster-dns)",
    };
    /// <summary>--disable-network.</summary>
    public static readonly Option<bool> DisableNetwork = new("--disable-network")
    {
        Description = "Keep no routes to other nodes' pods and serve no cluster DNS (pods still get addresses on this node)",
    };
    /// <summary>--node-iface.</summary>
    public static readonly Option<string?> NodeIface = new("--node-iface")
    {
        Description = "Interface the routes to other nodes' pods use (machines with several)",
    };
    /// <summary>--cleanup.</summary>
    public static readonly Option<bool> Cleanup = new("--cleanup")
    {
        Description = "Remove the nftables table, routes, cluster DNS address and pods' bridge this agent added to the machine's network, then exit",
    };

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var command = new Command("agent", "Join a server by token and run this machine as a node")
        {
            Server, Token, TokenFile, DataDir, NodeName, NodeIp, NodeLabel, NodeTaint, RuntimeEndpoint, KubeletPort, PodLogDir, ClusterDns,
            DisableNetwork, NodeIface, Cleanup,
        };
        command.SetAction((parse, ct) =>
        {
            if (parse.GetValue(Cleanup)) return AgentCommand.CleanupAsync(Console.Error, ct);
            AgentOptions options;
            try
            {
                options = Check(parse);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"appliance-runtime agent: {e.Message}");
                return Task.FromResult(2);
            }
            return new AgentCommand(options, Console.Error).RunAsync(ct);
        });
        return command;
    }

    /// <summary>The node flags the server verb takes too, for its embedded agent (as K3s's server does).</summary>
    public static IEnumerable<Option> NodeFlags => [NodeName, NodeIp, NodeLabel, NodeTaint, RuntimeEndpoint, KubeletPort, DisableNetwork, NodeIface];

    /// <summary>
    /// Checks <see cref="NodeFlags"/> for an agent joining <paramref name="server"/> with <paramref name="token"/> and
    /// keeping its state in <paramref name="dataDir"/> (named <paramref name="dataDirFlag"/> in errors); pod logs go to
    /// DATA_DIR/pods. Throws <see cref="ArgumentException"/> with the flag and what is wrong.
    /// </summary>
    public static AgentOptions CheckNode(ParseResult parse, Uri server, string token, string dataDir, string dataDirFlag)
    {
        var name = parse.GetValue(NodeName) ?? System.Net.Dns.GetHostName().ToLowerInvariant();
        if (Api.Storage.Validation.Dns1123Subdomain(name) is { } badName) throw new ArgumentException($"--node-name: \"{name}\": {badName}");
        IPAddress? ip = null;
        if (parse.GetValue(NodeIp) is { } ipText && !IPAddress.TryParse(ipText, out ip)) throw new ArgumentException($"--node-ip: \"{ipText}\" is not an IP address");
        var endpoint = parse.GetValue(RuntimeEndpoint);
        // Checked now, not after the join: a socket path must be a unix path under 108 bytes.
        try
        {
            if (endpoint is not null) Cri.CriConnection.ParseEndpoint(endpoint);
            else _ = new Containerd.ContainerdConfig(ContainerRuntime.Directory(dataDir), ContainerRuntime.CniConfDir(dataDir));
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{(endpoint is null ? dataDirFlag : "--container-runtime-endpoint")}: {e.Message}");
        }
        var kubeletPort = parse.GetValue(KubeletPort);
        if (kubeletPort is < 0 or > 65535) throw new ArgumentException($"--kubelet-port: {kubeletPort} is not a port (0-65535)");
        return new AgentOptions
        {
            Server = server,
            Token = token,
            DataDir = dataDir,
            NodeName = name,
            NodeIp = ip,
            Labels = Node.NodeLabel.Parse(parse.GetValue(NodeLabel) ?? []),
            Taints = [.. (parse.GetValue(NodeTaint) ?? []).Select(Taint.Parse)],
            ContainerRuntimeEndpoint = endpoint,
            KubeletPort = kubeletPort,
            PodLogDir = Path.Combine(dataDir, "pods"),
            Network = !parse.GetValue(DisableNetwork),
            NodeIface = parse.GetValue(NodeIface),
        };
    }

    static AgentOptions Check(ParseResult parse)
    {
        var serverText = parse.GetValue(Server) ?? throw new ArgumentException("--server is required: the API server to join, https://HOST:PORT");
        if (!Uri.TryCreate(serverText, UriKind.Absolute, out var server) || server.Scheme != "https" || server.PathAndQuery != "/")
            throw new ArgumentException($"--server: \"{serverText}\" is not https://HOST:PORT");
        var tokenText = parse.GetValue(Token);
        var tokenFile = parse.GetValue(TokenFile);
        if ((tokenText is null) == (tokenFile is null)) throw new ArgumentException("give exactly one of --token and --token-file");
        if (tokenFile is not null)
        {
            try { tokenText = File.ReadAllText(tokenFile).Trim(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ArgumentException($"--token-file: cannot read {tokenFile}: {e.Message}"); }
        }
        if (!NodeToken.TryParse(tokenText!.Trim(), out _))
            throw new ArgumentException($"{(tokenFile is null ? "--token" : $"--token-file {tokenFile}")}: not a node token (expected K10<64 hex digits>::server:<secret>)");
        var dataDir = Path.GetFullPath(parse.GetValue(DataDir)!);
        IPAddress? dns = null;
        if (parse.GetValue(ClusterDns) is { } dnsText && !IPAddress.TryParse(dnsText, out dns)) throw new ArgumentException($"--cluster-dns: \"{dnsText}\" is not an IP address");
        return CheckNode(parse, server, tokenText.Trim(), dataDir, "--data-dir") with
        {
            ClusterDns = dns,
            PodLogDir = parse.GetValue(PodLogDir) is { Length: > 0 } logDir ? Path.GetFullPath(logDir) : Path.Combine(dataDir, "pods"),
        };
    }
}
