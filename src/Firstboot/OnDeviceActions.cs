// The device actions of a real boot: steps 3, 5 and 7 through the classes of Device/, set up from site.yaml.
using System.Net;
using Appliance.Firstboot.Device;
using Appliance.Firstboot.Site;
using YamlDotNet.RepresentationModel;

namespace Appliance.Firstboot;

/// <summary>
/// <see cref="IDeviceActions"/> on the device: the profile's network and time servers (<see cref="NetworkConfigurator"/>,
/// <see cref="TimeSync"/>, both kept alive for the life of firstboot: they own the DHCP clients and the time polling),
/// the runtime under a <see cref="ProcessSupervisor"/> (<see cref="RuntimeCommand"/>), and the Ready wait
/// (<see cref="NodeReadyWaiter"/>, the admin kubeconfig on a server, the node's own certificate on an agent).
/// </summary>
public sealed class OnDeviceActions(FirstbootPaths paths, Action<string> log) : IDeviceActions, IAsyncDisposable
{
    /// <summary>How long step 7 waits before it reports the node NotReady with the last reason.</summary>
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(15);

    private NetworkConfigurator? _network;
    private TimeSync? _time;
    private NetworkSettings? _settings;
    private NetworkReport? _report;

    /// <inheritdoc/>
    public async Task ConfigureNetworkAsync(SiteConfig site, CancellationToken ct)
    {
        _settings = Network(site);
        Directory.CreateDirectory(paths.Logs);
        _network = new NetworkConfigurator(_settings, new NetworkEnvironment(DeviceCommands.Device, paths.Logs), log);
        _report = await _network.ApplyAsync(ct);
        foreach (var i in _report.Interfaces)
            log($"network: {i.Name} {i.State} {string.Join(' ', i.Addresses)}{(i.Reason is null ? "" : ": " + i.Reason)}");
        log($"network: default route {_report.DefaultRoute ?? "none (normal on an isolated site)"}");
        foreach (var p in _report.Problems) log("network: problem: " + p);
        if (_settings.NtpServers.Count > 0)
        {
            _time = new TimeSync(_settings.NtpServers, log);
            _time.Start();
        }
    }

    /// <inheritdoc/>
    public Task<IRuntimeSupervisor> StartRuntimeAsync(RuntimeLaunch launch, CancellationToken ct)
    {
        var site = launch.Site;
        var settings = new RuntimeSettings(launch.Role == "agent" ? RuntimeRole.Agent : RuntimeRole.Server, paths.Data, launch.NodeName)
        {
            NodeLabels = Mapping(site.Profile, "node", "labels"),
            NodeTaints = Sequence(site.Profile, "node", "taints"),
            NodeIp = NodeIp(),
            ClusterCidr = site.Text("cluster", "clusterCidr"),
            ServiceCidr = site.Text("cluster", "serviceCidr"),
            ClusterDns = site.Text("cluster", "clusterDns"),
            ServerUrl = launch.ServerUrl is { } url ? new Uri(url) : null,
            TokenFile = launch.Role == "agent" ? launch.TokenFile : null,
        };
        var supervisor = new ProcessSupervisor(RuntimeCommand.Build(settings), log);
        supervisor.Start();
        return Task.FromResult<IRuntimeSupervisor>(new Supervised(supervisor));
    }

    /// <inheritdoc/>
    public async Task<NodeReadiness> WaitReadyAsync(RuntimeLaunch launch, IProgress<string> progress, CancellationToken ct)
    {
        Func<ApiCredentials> credentials = launch.Role == "agent"
            ? () => AgentCredentials(launch.DataDir, new Uri(launch.ServerUrl!))
            : () => ApiCredentials.FromKubeconfig(Path.Combine(launch.DataDir, "kubeconfig.yaml"));
        var waiter = new NodeReadyWaiter(launch.NodeName, credentials, m => progress.Report(m));
        var r = await waiter.WaitAsync(ReadyTimeout, ct);
        return r.Ready ? new NodeReadiness("Ready", null) : new NodeReadiness("NotReady", r.Reason);
    }

    /// <summary>
    /// busybox <c>poweroff</c>: init runs <c>rc.shutdown</c> (which stops firstboot with SIGTERM and unmounts), then
    /// powers off. When init cannot be asked, <c>poweroff -f</c> powers off at once (the installer synced the disk).
    /// </summary>
    public async Task PowerOffAsync(CancellationToken ct)
    {
        var r = await DeviceCommands.Device.RunAppletAsync("poweroff", [], ct);
        if (r.Ok) return;
        log($"power off: {r.Describe()}; forcing it");
        var forced = await DeviceCommands.Device.RunAppletAsync("poweroff", ["-f"], ct);
        if (!forced.Ok) throw new IOException($"cannot power off: {forced.Describe()}");
    }

    /// <summary>
    /// The agent's credentials once it has joined; before that, the reason says so in words and whether the server
    /// answers at all (a TCP connection within 3 s), since an agent that cannot reach its server never joins.
    /// </summary>
    private static ApiCredentials AgentCredentials(string dataDir, Uri server)
    {
        try
        {
            return ApiCredentials.FromAgentDirectory(dataDir, server);
        }
        catch (IOException e)
        {
            throw new IOException($"the agent has not joined {server.GetLeftPart(UriPartial.Authority)} yet, {Reach(server)}", e);
        }
    }

    private static string Reach(Uri server)
    {
        try
        {
            using var tcp = new System.Net.Sockets.TcpClient();
            return tcp.ConnectAsync(server.Host, server.Port).Wait(TimeSpan.FromSeconds(3))
                ? "which answers (the join is refused or still running: DATA/logs/appliance-runtime.log says which)"
                : "which cannot be reached (no answer within 3 s)";
        }
        catch (AggregateException e) when (e.InnerException is System.Net.Sockets.SocketException s)
        {
            return $"which cannot be reached ({s.Message})";
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_time is not null) await _time.DisposeAsync();
        if (_network is not null) await _network.DisposeAsync();
    }

    /// <summary>The node's address: its first static address, else the first address a DHCP lease gave; null lets the runtime choose.</summary>
    private IPAddress? NodeIp()
    {
        if (_settings?.PrimaryStaticAddress is { } s) return s;
        var leased = _report?.Interfaces.FirstOrDefault(i => i.State == InterfaceState.DhcpBound)?.Addresses.FirstOrDefault();
        return leased is not null && IPAddress.TryParse(leased.Split('/')[0], out var ip) ? ip : null;
    }

    /// <summary>network.interfaces, network.ntp and node.hostname of the profile as the device classes take them.</summary>
    public static NetworkSettings Network(SiteConfig site)
    {
        var interfaces = new List<InterfaceSettings>();
        if (SiteConfig.At(site.Profile, "network", "interfaces") is YamlSequenceNode list)
            foreach (var item in list.Children.OfType<YamlMappingNode>())
            {
                var name = Scalar(item, "name") ?? throw new InvalidDataException("site.yaml: network.interfaces[]: an interface without a name");
                interfaces.Add(new InterfaceSettings(name)
                {
                    Dhcp = Scalar(item, "dhcp") is "true" or "True",
                    Addresses = Sequence(item, "addresses"),
                    Gateway = Scalar(item, "gateway"),
                    Dns = Sequence(item, "dns"),
                });
            }
        return new NetworkSettings(site.Hostname ?? site.Name, interfaces) { NtpServers = Sequence(site.Profile, "network", "ntp") };
    }

    private static string? Scalar(YamlMappingNode m, string key) => SiteConfig.At(m, key) is YamlScalarNode { Value: { } v } ? v : null;

    private static IReadOnlyList<string> Sequence(YamlMappingNode root, params string[] path) =>
        SiteConfig.At(root, path) is YamlSequenceNode s ? [.. s.Children.OfType<YamlScalarNode>().Select(c => c.Value ?? "")] : [];

    private static IReadOnlyDictionary<string, string> Mapping(YamlMappingNode root, params string[] path) =>
        SiteConfig.At(root, path) is YamlMappingNode m
            ? m.Children.Where(c => c.Key is YamlScalarNode && c.Value is YamlScalarNode)
                .ToDictionary(c => ((YamlScalarNode)c.Key).Value ?? "", c => ((YamlScalarNode)c.Value).Value ?? "")
            : new Dictionary<string, string>();

    /// <summary>The supervisor as step 5 hands it on: supervision ends only when firstboot disposes it.</summary>
    private sealed class Supervised(ProcessSupervisor supervisor) : IRuntimeSupervisor
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Completion => _done.Task;

        public string? LastFailure => supervisor.Exits.LastOrDefault()?.Reason;

        public async ValueTask DisposeAsync()
        {
            await supervisor.DisposeAsync();
            _done.TrySetResult();
        }
    }
}
