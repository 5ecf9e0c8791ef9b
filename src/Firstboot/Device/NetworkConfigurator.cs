// Step 3 of firstboot: host name, interfaces (static or busybox udhcpc), resolv.conf; idempotent, and a missing route is normal.
using System.Diagnostics;
using Appliance.Common;

namespace Appliance.Firstboot.Device;

/// <summary>Where the network step writes, and how long it waits for a first DHCP lease.</summary>
/// <param name="Commands">How tools run (<see cref="DeviceCommands.Device"/> on the device).</param>
/// <param name="LogDirectory">DATA/logs: each udhcpc's output goes to <c>udhcpc-IF.log</c> there.</param>
public sealed record NetworkEnvironment(DeviceCommands Commands, string LogDirectory)
{
    /// <summary>Where <c>hostname</c> and <c>resolv.conf</c> are written (<c>/etc</c>).</summary>
    public string EtcDirectory { get; init; } = "/etc";

    /// <summary>The DHCP script, leases, pid files and resolv.conf parts (on tmpfs: they describe this boot only).</summary>
    public string StateDirectory { get; init; } = "/run/appliance/network";

    /// <summary>How long <see cref="NetworkConfigurator.ApplyAsync"/> waits for a first lease per DHCP interface.</summary>
    public TimeSpan FirstLeaseTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>udhcpc's pause after an unanswered round of 3 discovers 2 s apart, before the next round (<c>-A</c>).</summary>
    public TimeSpan DhcpRetryPause { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>How one interface ended up.</summary>
public enum InterfaceState
{
    /// <summary>Static addresses (and gateway) applied.</summary>
    Configured,
    /// <summary>DHCP gave a lease.</summary>
    DhcpBound,
    /// <summary>No DHCP answer yet; udhcpc keeps trying in the background.</summary>
    DhcpWaiting,
    /// <summary>Something could not be applied; <see cref="InterfaceOutcome.Reason"/> says what.</summary>
    Failed,
}

/// <summary>One interface's result.</summary>
/// <param name="Name">The interface.</param>
/// <param name="State">How it ended up.</param>
/// <param name="Addresses">Its addresses with prefix (static, or the lease's).</param>
/// <param name="Reason">Why it is not <see cref="InterfaceState.Configured"/>/<see cref="InterfaceState.DhcpBound"/>, or null.</param>
public sealed record InterfaceOutcome(string Name, InterfaceState State, IReadOnlyList<string> Addresses, string? Reason);

/// <summary>What the network step did, for the journal and status.json.</summary>
/// <param name="Hostname">The host name set.</param>
/// <param name="Interfaces">Each profile interface's outcome.</param>
/// <param name="DefaultRoute">The default route at the end (from <c>ip route show</c>), or null: normal on an isolated site.</param>
/// <param name="Problems">Everything that failed, one line each (empty when all went well; a missing default route is not one).</param>
public sealed record NetworkReport(string Hostname, IReadOnlyList<InterfaceOutcome> Interfaces, string? DefaultRoute, IReadOnlyList<string> Problems);

/// <summary>
/// Applies <see cref="NetworkSettings"/>: sets the host name (sethostname through <c>busybox hostname</c>, and
/// <c>/etc/hostname</c> when writable), brings <c>lo</c> and each interface up, applies static addresses with
/// <c>ip addr replace</c> and the gateway with <c>ip route replace default</c> (so a second run adds nothing), runs
/// one supervised <c>busybox udhcpc -f</c> per DHCP interface (it renews the lease, and keeps asking when no server
/// answers) and waits up to <see cref="NetworkEnvironment.FirstLeaseTimeout"/> for the first lease, and writes
/// <c>/etc/resolv.conf</c> from the static nameservers and the leases. Nothing here throws for the network itself:
/// failures are in the report. Dispose stops the DHCP clients (their addresses stay).
/// </summary>
public sealed class NetworkConfigurator : IAsyncDisposable
{
    private readonly NetworkSettings _settings;
    private readonly NetworkEnvironment _env;
    private readonly Action<string> _log;
    private readonly List<ProcessSupervisor> _dhcp = [];

    /// <summary>Prepares the step; nothing is changed before <see cref="ApplyAsync"/>.</summary>
    public NetworkConfigurator(NetworkSettings settings, NetworkEnvironment environment, Action<string> log)
    {
        _settings = settings;
        _env = environment;
        _log = log;
    }

    private const UnixFileMode ScriptMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private DeviceCommands Commands => _env.Commands;
    private string ScriptPath => Path.Combine(_env.StateDirectory, "udhcpc.script");
    private string LeasePath(string name) => Path.Combine(_env.StateDirectory, name + ".lease");
    private string EventPath(string name) => Path.Combine(_env.StateDirectory, name + ".event");

    /// <summary>The DHCP clients now supervised (one per DHCP interface), for status.</summary>
    public IReadOnlyList<ProcessSupervisor> DhcpClients => _dhcp;

    /// <summary>Applies everything once; call it once per configurator (a new boot makes a new one).</summary>
    public async Task<NetworkReport> ApplyAsync(CancellationToken ct = default)
    {
        var problems = new List<string>();
        Directory.CreateDirectory(Path.Combine(_env.StateDirectory, "resolv.d"));
        await SetHostnameAsync(problems, ct);
        await Step(problems, "bringing up lo", ["link", "set", "dev", "lo", "up"], ct);
        AtomicFile.WriteText(ScriptPath, DhcpScript.Render(Commands.Busybox, _env.StateDirectory, Path.Combine(_env.EtcDirectory, "resolv.conf")),
            new(Durable: false, Mode: ScriptMode));
        WriteStaticNameservers();
        await ResolvConfAsync(problems, ct);

        var outcomes = new List<InterfaceOutcome>();
        foreach (var i in _settings.Interfaces.Where(i => !i.Dhcp))
            outcomes.Add(await StaticAsync(i, problems, ct));
        var dhcp = _settings.Interfaces.Where(i => i.Dhcp).Select(i => DhcpAsync(i, problems, ct)).ToList();
        outcomes.AddRange(await Task.WhenAll(dhcp));

        // busybox ip ignores a "default" selector: read every route and keep the default one.
        var routes = await Commands.RunAppletAsync("ip", ["route", "show"], ct);
        var defaultRoute = routes.Output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("default ", StringComparison.Ordinal));
        _log(defaultRoute is null
            ? "network: no default route (normal on a site without a gateway)"
            : $"network: default route {defaultRoute}");
        return new NetworkReport(_settings.Hostname, SortLike(outcomes), defaultRoute, problems);
    }

    private List<InterfaceOutcome> SortLike(List<InterfaceOutcome> outcomes) =>
        [.. _settings.Interfaces.Select(i => outcomes.First(o => o.Name == i.Name))];

    private async Task SetHostnameAsync(List<string> problems, CancellationToken ct)
    {
        var name = _settings.Hostname;
        var r = await Commands.RunAppletAsync("hostname", [name], ct);
        if (!r.Ok) Problem(problems, $"cannot set the host name to {name}: {r.Describe()}");
        else _log($"network: host name {name}");
        var file = Path.Combine(_env.EtcDirectory, "hostname");
        // /etc/hosts: the loopback names and this host's name. containerd's CRI copies it into every pod sandbox and
        // refuses to create one without it, and the OS image has none.
        var hosts = Path.Combine(_env.EtcDirectory, "hosts");
        var hostsText = $"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{name}\n";
        try
        {
            if (!File.Exists(file) || File.ReadAllText(file).Trim() != name)
                AtomicFile.WriteText(file, name + "\n", new(Durable: false));
            if (!File.Exists(hosts) || File.ReadAllText(hosts) != hostsText)
                AtomicFile.WriteText(hosts, hostsText, new(Durable: false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log($"network: {file} or {hosts} not written ({e.Message}); the running host name is set");
        }
    }

    private async Task<InterfaceOutcome> StaticAsync(InterfaceSettings i, List<string> problems, CancellationToken ct)
    {
        var failures = new List<string>();
        if (!await LinkUpAsync(i.Name, failures, ct))
            return Failed(i, failures, problems);
        foreach (var a in i.Addresses)
        {
            var r = await Commands.RunAppletAsync("ip", ["addr", "replace", a, "dev", i.Name], ct);
            if (!r.Ok) failures.Add($"address {a}: {r.Describe()}");
        }
        if (i.Gateway is { } gw)
        {
            var r = await Commands.RunAppletAsync("ip", ["route", "replace", "default", "via", gw, "dev", i.Name], ct);
            if (!r.Ok) failures.Add($"default route via {gw}: {r.Describe()}");
        }
        if (failures.Count > 0) return Failed(i, failures, problems);
        _log($"network: {i.Name} up with {string.Join(", ", i.Addresses)}" + (i.Gateway is { } g ? $", default route via {g}" : ", no gateway"));
        return new InterfaceOutcome(i.Name, InterfaceState.Configured, i.Addresses, null);
    }

    private InterfaceOutcome Failed(InterfaceSettings i, List<string> failures, List<string> problems)
    {
        var reason = string.Join("; ", failures);
        Problem(problems, $"{i.Name}: {reason}");
        return new InterfaceOutcome(i.Name, InterfaceState.Failed, [], reason);
    }

    private async Task<bool> LinkUpAsync(string name, List<string> failures, CancellationToken ct)
    {
        var show = await Commands.RunAppletAsync("ip", ["link", "show", "dev", name], ct);
        if (!show.Ok)
        {
            failures.Add($"interface {name} does not exist ({show.Output})");
            return false;
        }
        var up = await Commands.RunAppletAsync("ip", ["link", "set", "dev", name, "up"], ct);
        if (!up.Ok) failures.Add($"cannot bring {name} up: {up.Describe()}");
        return up.Ok;
    }

    private async Task<InterfaceOutcome> DhcpAsync(InterfaceSettings i, List<string> problems, CancellationToken ct)
    {
        var failures = new List<string>();
        if (!await LinkUpAsync(i.Name, failures, ct))
            lock (problems) return Failed(i, failures, problems);
        // A lease file from an earlier firstboot of this boot would look like a fresh answer.
        File.Delete(LeasePath(i.Name));
        File.Delete(EventPath(i.Name));
        var spec = new ProcessSpec($"udhcpc {i.Name}", Commands.Busybox,
            ["udhcpc", "-f", "-i", i.Name, "-s", ScriptPath, "-t", "3", "-T", "2",
             "-A", ((int)Math.Ceiling(_env.DhcpRetryPause.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture),
             "-x", "hostname:" + _settings.Hostname],
            Path.Combine(_env.LogDirectory, $"udhcpc-{i.Name}.log"), Path.Combine(_env.StateDirectory, $"udhcpc-{i.Name}.pid"))
        { Prefix = Commands.Prefix };
        var client = new ProcessSupervisor(spec, _log);
        lock (_dhcp) _dhcp.Add(client);
        client.Start();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < _env.FirstLeaseTimeout)
        {
            if (ReadLease(i.Name) is { } lease)
            {
                _log($"network: {i.Name} got {lease} by DHCP after {clock.Elapsed.TotalSeconds:0.0} s");
                return new InterfaceOutcome(i.Name, InterfaceState.DhcpBound, [lease], null);
            }
            await Task.Delay(100, ct);
        }
        var seen = File.Exists(EventPath(i.Name)) ? $" (udhcpc: {File.ReadAllText(EventPath(i.Name)).Trim()})" : "";
        var reason = $"no DHCP answer on {i.Name} within {_env.FirstLeaseTimeout.TotalSeconds:0} s{seen}; udhcpc keeps asking in the background";
        _log("network: " + reason);
        return new InterfaceOutcome(i.Name, InterfaceState.DhcpWaiting, [], reason);
    }

    /// <summary>The address/prefix of <paramref name="name"/>'s current lease, or null (none yet, or lost).</summary>
    public string? ReadLease(string name)
    {
        try
        {
            var fields = File.ReadAllLines(LeasePath(name)).Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
            return fields.TryGetValue("ip", out var ip) && ip.Length > 0 ? $"{ip}/{fields.GetValueOrDefault("mask", "24")}" : null;
        }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
    }

    private void WriteStaticNameservers()
    {
        var lines = _settings.Interfaces.Where(i => !i.Dhcp).SelectMany(i => i.Dns).Distinct().Select(d => $"nameserver {d}\n");
        AtomicFile.WriteText(Path.Combine(_env.StateDirectory, "resolv.d", "00-static"), string.Concat(lines), new(Durable: false));
    }

    private Task ResolvConfAsync(List<string> problems, CancellationToken ct) =>
        Step(problems, "writing resolv.conf", null, ct, Commands.Applet("sh", ScriptPath, "resolv"));

    private async Task Step(List<string> problems, string what, string[]? ipArgs, CancellationToken ct, IReadOnlyList<string>? argv = null)
    {
        var r = await Commands.RunAsync(argv ?? Commands.Applet("ip", ipArgs!), ct);
        if (!r.Ok) Problem(problems, $"{what}: {r.Describe()}");
    }

    private void Problem(List<string> problems, string line)
    {
        lock (problems) problems.Add(line);
        _log("network: " + line);
    }

    /// <summary>Stops the DHCP clients (SIGTERM); the addresses they set stay.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var c in _dhcp) await c.DisposeAsync();
    }
}
