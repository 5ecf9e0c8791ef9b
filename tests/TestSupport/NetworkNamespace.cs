// A network namespace a test creates and removes, so routes, addresses and DHCP never touch the host's own network.
namespace Appliance.TestSupport;

/// <summary>
/// <c>ip netns add NAME</c> with loopback up; <see cref="Enter"/> is the nsenter prefix that runs a command inside
/// (network namespace only: mounts and the host name stay the caller's). Dispose deletes it, which also removes its
/// veth ends (and so their peers).
/// </summary>
public sealed class NetworkNamespace : IAsyncDisposable
{
    private NetworkNamespace(string name) => Name = name;

    /// <summary>The namespace's name (under /run/netns).</summary>
    public string Name { get; }

    /// <summary>The prefix that runs a command in it: <c>/usr/bin/nsenter --net=/run/netns/NAME</c>.</summary>
    public string[] Enter => ["/usr/bin/nsenter", $"--net=/run/netns/{Name}"];

    /// <summary>Why namespaces cannot be made here (not root, no ip or nsenter), or null when they can.</summary>
    public static string? Unavailable =>
        Environment.UserName != "root" ? "network namespaces need root"
        : !File.Exists("/usr/bin/nsenter") ? "nsenter (util-linux) is not installed"
        : !File.Exists("/usr/sbin/ip") && !File.Exists("/usr/bin/ip") && !File.Exists("/sbin/ip") ? "ip (iproute2) is not installed"
        : null;

    /// <summary>Creates a namespace named <paramref name="prefix"/> + 6 random hex digits, with lo up.</summary>
    public static async Task<NetworkNamespace> CreateAsync(string prefix, CancellationToken ct = default)
    {
        var ns = new NetworkNamespace(prefix + Guid.NewGuid().ToString("n")[..6]);
        (await ProcessRunner.RunAsync("ip", ["netns", "add", ns.Name], ct: ct)).Ok();
        try
        {
            (await ProcessRunner.RunAsync("ip", ["-n", ns.Name, "link", "set", "lo", "up"], ct: ct)).Ok();
        }
        catch
        {
            await ns.DisposeAsync();
            throw;
        }
        return ns;
    }

    /// <summary>Runs <paramref name="argv"/> inside to completion.</summary>
    public Task<ProcessResult> RunAsync(params string[] argv) => ProcessRunner.RunAsync(Enter[0], [.. Enter[1..], .. argv]);

    /// <summary>Starts <paramref name="argv"/> inside (a server); dispose the result to kill it.</summary>
    public ChildProcess Start(params string[] argv) => ProcessRunner.Start(Enter[0], [.. Enter[1..], .. argv]);

    /// <summary>A veth pair: <paramref name="here"/> in this namespace, <paramref name="there"/> in <paramref name="other"/>; both up.</summary>
    public async Task LinkAsync(string here, NetworkNamespace other, string there)
    {
        (await ProcessRunner.RunAsync("ip", ["-n", Name, "link", "add", here, "type", "veth", "peer", "name", there, "netns", other.Name])).Ok();
        (await ProcessRunner.RunAsync("ip", ["-n", Name, "link", "set", here, "up"])).Ok();
        (await ProcessRunner.RunAsync("ip", ["-n", other.Name, "link", "set", there, "up"])).Ok();
    }

    /// <summary>Deletes the namespace; never fails the test.</summary>
    public async ValueTask DisposeAsync()
    {
        try { await ProcessRunner.RunAsync("ip", ["netns", "delete", Name], ct: CancellationToken.None); }
        catch (Exception) { }
    }
}
