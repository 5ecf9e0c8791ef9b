// Benchmark: the cluster DNS server under dnsperf load from a pod namespace, against dnsmasq serving the same names.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.ClusterDns;
using Appliance.ClusterRuntime.Agent.Network.ServiceProxy;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.Bench.Network;

/// <summary>
/// Runs in the namespace run.sh made for the servers; the load comes from the "pod" namespace (<c>ip netns exec POD
/// dnsperf</c>) across a veth pair. Zone: 100 headless Services × 10 ready endpoints, so 1,000 endpoint names (one A
/// each) and 100 Service names (ten A each); dnsmasq gets the same 1,100 name/address pairs as a hosts file. Each
/// round runs dnsperf for the same time against both servers (order alternating) with the same query file.
/// </summary>
static class DnsBench
{
    const string ServerIp = "10.99.0.1", Namespace = "bench", Domain = "cluster.local";
    const int OurPort = 53, AnchorPort = 5300;

    public static async Task<int> RunAsync(string[] args)
    {
        int rounds = Stats.Option(args, "--rounds", 5), seconds = Stats.Option(args, "--seconds", 5), outstanding = Stats.Option(args, "--outstanding", 100);
        int serviceCount = Stats.Option(args, "--services", 100), endpointCount = Stats.Option(args, "--endpoints", 10);
        var pod = Environment.GetEnvironmentVariable("BENCH_POD_NETNS") ?? throw new InvalidOperationException("BENCH_POD_NETNS is not set (run through run.sh dns)");
        using var dir = new TempDirectory();

        var rssStart = Rss();
        var heap0 = Heap();
        var services = Enumerable.Range(0, serviceCount).Select(i => Service(i, headless: true)).ToList();
        var slices = Enumerable.Range(0, serviceCount).Select(i => Slice(i, endpointCount)).ToList();
        var heapObjects = Heap();
        var zone = ClusterZone.Build(Domain, 5, 1, services, slices, []);
        var heapZone = Heap();
        // What the proxy holds for the same number of Services as ClusterIPs: the rendered table (it keeps the last one).
        var clusterIpServices = Enumerable.Range(0, serviceCount).Select(i => Service(i, headless: false)).ToList();
        var heapBeforeTable = Heap();
        var table = ProxyRules.Render("bench", clusterIpServices, slices, new ProxyNode("node-a", [IPAddress.Parse(ServerIp)], IPNetwork.Parse("10.42.0.0/16"), IPNetwork.Parse("10.43.0.0/16")));
        var heapTable = Heap();

        var hosts = new StringBuilder();
        var queries = new StringBuilder();
        for (int i = 0; i < serviceCount; i++)
        {
            queries.Append($"{ServiceName(i)} A\n");
            for (int j = 0; j < endpointCount; j++)
            {
                hosts.Append($"{EndpointIp(i, j)} {ServiceName(i)}\n{EndpointIp(i, j)} {EndpointName(i, j)}\n");
                queries.Append($"{EndpointName(i, j)} A\n");
            }
        }
        var hostsFile = Path.Combine(dir.Path, "hosts");
        var queryFile = Path.Combine(dir.Path, "queries");
        await File.WriteAllTextAsync(hostsFile, hosts.ToString());
        await File.WriteAllTextAsync(queryFile, queries.ToString());

        await using var ours = ClusterDnsServer.Start(new IPEndPoint(IPAddress.Parse(ServerIp), OurPort), zone, [], NullLogger.Instance);
        using var dnsmasq = Process.Start(new ProcessStartInfo("dnsmasq",
            ["-k", $"--port={AnchorPort}", $"--listen-address={ServerIp}", "--bind-interfaces", "--no-resolv", "--no-hosts", $"--addn-hosts={hostsFile}",
             $"--local=/{Domain}/", "--pid-file=", "--user=root", "--log-facility=/dev/null", "--cache-size=0"]) { RedirectStandardError = true })!;
        try
        {
            await Task.Delay(500);
            if (dnsmasq.HasExited) throw new InvalidOperationException("dnsmasq did not start: " + await dnsmasq.StandardError.ReadToEndAsync());
            // Both servers give the same answers: a Service name's ten addresses and an endpoint name's one.
            foreach (var name in new[] { ServiceName(serviceCount - 1), EndpointName(0, endpointCount - 1) })
            {
                var mine = await DigAsync(pod, OurPort, name);
                var theirs = await DigAsync(pod, AnchorPort, name);
                if (mine != theirs || mine.Length == 0) throw new InvalidOperationException($"{name}: ours [{mine}], dnsmasq [{theirs}]");
            }
            Console.WriteLine($"{serviceCount} headless Services x {endpointCount} endpoints: {zone.Count} names with records; " +
                              $"dnsperf from netns {pod}, {outstanding} outstanding, {seconds} s per run, {rounds} paired rounds");
            var ourRuns = new List<DnsperfRun>();
            var anchorRuns = new List<DnsperfRun>();
            for (int r = 0; r < rounds; r++)
            {
                // The order alternates so neither server always runs on a warmer (or busier) machine.
                if (r % 2 == 0) ourRuns.Add(await DnsperfAsync(pod, OurPort, queryFile, seconds, outstanding));
                anchorRuns.Add(await DnsperfAsync(pod, AnchorPort, queryFile, seconds, outstanding));
                if (r % 2 == 1) ourRuns.Add(await DnsperfAsync(pod, OurPort, queryFile, seconds, outstanding));
                Console.WriteLine($"round {r + 1}: ours {ourRuns[^1]}; dnsmasq {anchorRuns[^1]}");
            }
            var rssAfter = Rss();
            Console.WriteLine();
            Console.WriteLine($"| median of {rounds} | ours (ClusterDnsServer) | anchor (dnsmasq 2.90) | ratio ours / anchor |");
            Console.WriteLine("|---|---|---|---|");
            Row("queries per second", ourRuns.Select(x => x.Qps), anchorRuns.Select(x => x.Qps), "F0");
            Row("p50 latency (ms)", ourRuns.Select(x => x.P50Ms), anchorRuns.Select(x => x.P50Ms), "F3");
            Row("p99 latency (ms)", ourRuns.Select(x => x.P99Ms), anchorRuns.Select(x => x.P99Ms), "F3");
            Row("queries lost", ourRuns.Select(x => (double)x.Lost), anchorRuns.Select(x => (double)x.Lost), "F0");
            Console.WriteLine();
            Console.WriteLine($"managed heap: {serviceCount} Services + {serviceCount} EndpointSlices as JSON {Kib(heapObjects - heap0)} KiB, the zone {Kib(heapZone - heapObjects)} KiB, " +
                              $"the proxy's rendered table for them as ClusterIPs ({table.Table.Text.Length / 1024} KiB of text) {Kib(heapTable - heapBeforeTable)} KiB");
            Console.WriteLine($"bench process RSS: {rssStart / 1024} MiB at start, {rssAfter / 1024} MiB after the runs (runtime, objects, zone, table, server)");
            GC.KeepAlive(services);
            GC.KeepAlive(clusterIpServices);
            GC.KeepAlive(table);
            return 0;
        }
        finally
        {
            if (!dnsmasq.HasExited) dnsmasq.Kill();
            await dnsmasq.WaitForExitAsync();
        }
    }

    sealed record DnsperfRun(double Qps, double P50Ms, double P99Ms, long Lost)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Qps:F0} q/s, p50 {P50Ms:F3} ms, p99 {P99Ms:F3} ms, lost {Lost}");
    }

    // dnsperf -v prints one "> RCODE NAME TYPE SECONDS" line per answered query; its summary gives qps and losses.
    static async Task<DnsperfRun> DnsperfAsync(string pod, int port, string queryFile, int seconds, int outstanding)
    {
        var psi = new ProcessStartInfo("ip", ["netns", "exec", pod, "dnsperf", "-s", ServerIp, "-p", port.ToString(CultureInfo.InvariantCulture), "-d", queryFile,
            "-l", seconds.ToString(CultureInfo.InvariantCulture), "-q", outstanding.ToString(CultureInfo.InvariantCulture), "-t", "2", "-v"])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var latencies = new List<double>();
        double qps = 0;
        long lost = 0;
        var errors = p.StandardError.ReadToEndAsync();
        while (await p.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("> ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts[1] != "NOERROR") throw new InvalidOperationException($"port {port} answered {line}");
                latencies.Add(double.Parse(parts[^1], CultureInfo.InvariantCulture) * 1000);
            }
            else if (line.Contains("Queries per second:", StringComparison.Ordinal)) qps = double.Parse(line.Split(':')[1], CultureInfo.InvariantCulture);
            else if (line.Contains("Queries lost:", StringComparison.Ordinal)) lost = long.Parse(line.Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        await p.WaitForExitAsync();
        if (p.ExitCode != 0 || latencies.Count == 0) throw new InvalidOperationException($"dnsperf against port {port} failed ({p.ExitCode}): {await errors}");
        return new DnsperfRun(qps, Stats.Percentile(latencies, 0.5), Stats.Percentile(latencies, 0.99), lost);
    }

    // The sorted addresses dig gets for a name from the pod namespace.
    static async Task<string> DigAsync(string pod, int port, string name)
    {
        using var p = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", pod, "dig", "+short", "+time=2", "+tries=1", "-p", port.ToString(CultureInfo.InvariantCulture), "@" + ServerIp, name, "A"])
        { RedirectStandardOutput = true })!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return string.Join(" ", output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
    }

    static void Row(string what, IEnumerable<double> ours, IEnumerable<double> anchor, string format)
    {
        double o = Stats.Median([.. ours]), a = Stats.Median([.. anchor]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {what} | {o.ToString(format, CultureInfo.InvariantCulture)} | {a.ToString(format, CultureInfo.InvariantCulture)} | {(a == 0 ? "-" : (o / a).ToString("F2", CultureInfo.InvariantCulture))} |"));
    }

    static JsonObject Service(int i, bool headless) => new()
    {
        ["metadata"] = new JsonObject { ["name"] = $"s{i}", ["namespace"] = Namespace },
        ["spec"] = new JsonObject
        {
            ["type"] = "ClusterIP",
            ["clusterIP"] = headless ? "None" : $"10.43.{i / 250}.{i % 250 + 1}",
            ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["protocol"] = "TCP", ["port"] = 80, ["targetPort"] = 8080 }),
        },
    };

    static JsonObject Slice(int i, int endpointCount) => new()
    {
        ["metadata"] = new JsonObject { ["name"] = $"s{i}-x", ["namespace"] = Namespace, ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = $"s{i}" } },
        ["addressType"] = "IPv4",
        ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["protocol"] = "TCP", ["port"] = 8080 }),
        ["endpoints"] = new JsonArray([.. Enumerable.Range(0, endpointCount).Select(j => (JsonNode)new JsonObject
        {
            ["addresses"] = new JsonArray(EndpointIp(i, j)), ["nodeName"] = j % 2 == 0 ? "node-a" : "node-b",
            ["conditions"] = new JsonObject { ["ready"] = true },
        })]),
    };

    static string ServiceName(int i) => $"s{i}.{Namespace}.svc.{Domain}";
    static string EndpointIp(int i, int j) => $"10.42.{i % 250}.{j + 2}";
    static string EndpointName(int i, int j) => $"{EndpointIp(i, j).Replace('.', '-')}.{ServiceName(i)}";

    static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(true);
    }

    static long Kib(long bytes) => bytes / 1024;

    // VmRSS of this process in KiB.
    static long Rss() => long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    sealed class TempDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("dnsbench-").FullName;
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}

/// <summary>Options, medians and percentiles of both benchmarks.</summary>
static class Stats
{
    public static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    public static double Median(List<double> xs) => Percentile(xs, 0.5);

    public static double Percentile(List<double> xs, double p)
    {
        var s = xs.Order().ToList();
        return s[(int)Math.Min(s.Count - 1, Math.Round(p * (s.Count - 1)))];
    }
}
