// The server verb's cluster options (address ranges, node monitoring), kept apart from the rest.
using System.CommandLine;
using System.Net;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Server;

/// <summary>Options that shape the cluster the controllers manage; names and defaults are K3s's.</summary>
public static class ClusterOptions
{
    /// <summary>--cluster-cidr.</summary>
    public static readonly Option<string> ClusterCidr = new("--cluster-cidr")
    {
        Description = "Range of pod addresses; each node gets a --node-cidr-mask-size block of it",
        DefaultValueFactory = _ => "10.42.0.0/16",
    };

    /// <summary>--service-cidr.</summary>
    public static readonly Option<string> ServiceCidr = new("--service-cidr")
    {
        Description = "Range of Service ClusterIPs; its first address is the kubernetes Service",
        DefaultValueFactory = _ => "10.43.0.0/16",
    };

    /// <summary>--cluster-dns.</summary>
    public static readonly Option<string> ClusterDns = new("--cluster-dns")
    {
        Description = "ClusterIP of the cluster DNS Service (inside --service-cidr; reserved)",
        DefaultValueFactory = _ => "10.43.0.10",
    };

    /// <summary>--node-cidr-mask-size.</summary>
    public static readonly Option<int> NodeCidrMaskSize = new("--node-cidr-mask-size")
    {
        Description = "Prefix length of each node's pod CIDR",
        DefaultValueFactory = _ => 24,
    };

    /// <summary>--service-node-port-range.</summary>
    public static readonly Option<string> NodePortRange = new("--service-node-port-range")
    {
        Description = "Range of NodePorts, FIRST-LAST",
        DefaultValueFactory = _ => "30000-32767",
    };

    /// <summary>--node-monitor-grace-period.</summary>
    public static readonly Option<TimeSpan> NodeMonitorGracePeriod = new("--node-monitor-grace-period")
    {
        Description = "How long a node's Lease may go unrenewed before the node is marked Ready=Unknown (e.g. 40s)",
        DefaultValueFactory = _ => TimeSpan.FromSeconds(40),
        CustomParser = Duration.Parse,
    };

    /// <summary>--default-toleration-seconds.</summary>
    public static readonly Option<int> DefaultTolerationSeconds = new("--default-toleration-seconds")
    {
        Description = "Seconds pods tolerate a not-ready or unreachable node before they are evicted",
        DefaultValueFactory = _ => 300,
    };

    /// <summary>--test-clock-speed (hidden, TEST ONLY): the controllers' clock runs this many times faster (<see cref="ScaledClock"/>).</summary>
    public static readonly Option<double> TestClockSpeed = new("--test-clock-speed")
    {
        Description = "TEST ONLY: run the controllers' clock this many times faster than real time",
        DefaultValueFactory = _ => 1,
        Hidden = true,
    };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public static void AddTo(Command command)
    {
        foreach (var option in new Option[] { ClusterCidr, ServiceCidr, ClusterDns, NodeCidrMaskSize, NodePortRange, NodeMonitorGracePeriod, DefaultTolerationSeconds, TestClockSpeed })
            command.Options.Add(option);
    }

    /// <summary>
    /// <paramref name="options"/> with the cluster settings given on the command line.
    /// </summary>
    /// <exception cref="ArgumentException">A value that does not parse or does not fit, named by its flag.</exception>
    public static ServerOptions Apply(ParseResult parse, ServerOptions options)
    {
        var cluster = Network(parse.GetValue(ClusterCidr)!, "--cluster-cidr");
        var service = Network(parse.GetValue(ServiceCidr)!, "--service-cidr");
        var dnsText = parse.GetValue(ClusterDns)!;
        if (!IPAddress.TryParse(dnsText, out var dns)) throw new ArgumentException($"--cluster-dns: '{dnsText}' is not an IP address");
        if (!service.Contains(dns)) throw new ArgumentException($"--cluster-dns: {dns} is not inside --service-cidr {service}");
        var mask = parse.GetValue(NodeCidrMaskSize);
        var maxBits = cluster.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128;
        if (mask < cluster.PrefixLength || mask > maxBits)
            throw new ArgumentException($"--node-cidr-mask-size: {mask} must be between the --cluster-cidr prefix length ({cluster.PrefixLength}) and {maxBits}");
        var range = parse.GetValue(NodePortRange)!;
        var parts = range.Split('-');
        if (parts.Length != 2 || !int.TryParse(parts[0], out var first) || !int.TryParse(parts[1], out var last) || first < 1 || last > 65535 || first > last)
            throw new ArgumentException($"--service-node-port-range: '{range}' is not FIRST-LAST with 1 <= FIRST <= LAST <= 65535");
        var grace = parse.GetValue(NodeMonitorGracePeriod);
        if (grace <= TimeSpan.Zero) throw new ArgumentException("--node-monitor-grace-period: must be positive");
        var toleration = parse.GetValue(DefaultTolerationSeconds);
        if (toleration < 0) throw new ArgumentException($"--default-toleration-seconds: {toleration} is negative");
        var speed = parse.GetValue(TestClockSpeed);
        if (!(speed > 0)) throw new ArgumentException($"--test-clock-speed: {speed} must be positive");
        return options with
        {
            Controllers = options.Controllers with
            {
                ClusterCidr = cluster,
                ServiceCidr = service,
                ClusterDns = dns,
                NodeCidrMaskSize = mask,
                NodePortMin = first,
                NodePortMax = last,
                NodeMonitorGracePeriod = grace,
                DefaultTolerationSeconds = toleration,
                Clock = speed == 1 ? options.Controllers.Clock : new ScaledClock(speed),
            },
        };
    }

    static IPNetwork Network(string text, string flag)
    {
        if (!IPNetwork.TryParse(text, out var network)) throw new ArgumentException($"{flag}: '{text}' is not a CIDR such as 10.42.0.0/16");
        return network;
    }
}
