// Benchmark: Service rule update latency (one endpoint changes among 100 Services x 10 endpoints), ours against anchors.
// Runs inside the network namespace run.sh made: nft and iptables-restore act on that namespace only.
// `dns` as the first argument runs the DNS benchmark instead (DnsBench.cs).
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Network;
using Appliance.ClusterRuntime.Agent.Network.ServiceProxy;
using Appliance.Bench.Network;
using Microsoft.Extensions.Logging.Abstractions;

if (args.Length > 0 && args[0] == "dns") return await DnsBench.RunAsync(args);
int rounds = Option("--rounds", 30), serviceCount = Option("--services", 100), endpointCount = Option("--endpoints", 10);
var node = new ProxyNode("node-a", [IPAddress.Parse("10.0.0.10")], IPNetwork.Parse("10.42.0.0/16"), IPNetwork.Parse("10.43.0.0/16"));
var command = new HostCommand();
var proxy = new NftProxy(NullLogger.Instance, "appliance-bench", command);
var services = Enumerable.Range(0, serviceCount).Select(Service).ToList();
var slices = Enumerable.Range(0, serviceCount).Select(i => Slice(i, -1)).ToList();
await proxy.SyncAsync(services, slices, node, default);
var initial = ProxyRules.Render("appliance-bench", services, slices, node).Table.Text;
Console.WriteLine($"{serviceCount} Services x {endpointCount} endpoints: {initial.Split("\tchain ").Length - 1} chains, {initial.Length / 1024} KiB of nft text; " +
                  $"{rounds} rounds, one endpoint changes each round");

var ours = new List<double>(); var render = new List<double>(); var apply = new List<double>();
var nftText = new List<double>(); var nftCheck = new List<double>(); var iptables = new List<double>();
var unready = new Dictionary<int, int>();
for (var r = 0; r < rounds; r++)
{
    // One endpoint of one TCP Service goes unready (or ready again, the next time that Service is picked), as a pod does.
    var svc = 1 + r * 7 % (serviceCount - 1);
    if (svc % 5 == 0) svc++;
    unready[svc] = unready.GetValueOrDefault(svc, -1) == -1 ? r % endpointCount : -1;
    slices[svc] = Slice(svc, unready[svc]);
    var t = Stopwatch.StartNew();
    var result = await proxy.SyncAsync(services, slices, node, default);
    ours.Add(t.Elapsed.TotalMilliseconds);
    if (!result.Changed) throw new InvalidOperationException("the change was not applied");
    render.Add(result.Render.TotalMilliseconds);
    apply.Add(result.Apply.TotalMilliseconds);

    // Anchors, same ruleset, same namespace: the whole text loaded by nft alone (a table of its own, replaced whole),
    // and the same Services as kube-proxy's iptables mode would write them, through iptables-restore (nat table).
    var text = ProxyRules.Render("anchor", services, slices, node).Table;
    t.Restart();
    Ok(await command.RunAsync("nft", ["-f", "-"], text.UpdateScript(null)), "nft -f");
    nftText.Add(t.Elapsed.TotalMilliseconds);
    var restore = IptablesRestore(services, slices);
    t.Restart();
    Ok(await command.RunAsync("iptables-restore", [], restore), "iptables-restore");
    iptables.Add(t.Elapsed.TotalMilliseconds);
}
await proxy.CleanupAsync();
Ok(await command.RunAsync("nft", ["-f", "-"], "add table ip anchor\ndelete table ip anchor\n"), "nft cleanup");
Ok(await command.RunAsync("iptables-restore", [], "*nat\nCOMMIT\n"), "iptables cleanup");

Console.WriteLine($"| median of {rounds} | ms |");
Console.WriteLine("|---|---|");
Console.WriteLine($"| ours: render + nft transaction (SyncAsync) | {Median(ours):F1} |");
Console.WriteLine($"| of which render | {Median(render):F2} |");
Console.WriteLine($"| of which nft -f (update script) | {Median(apply):F1} |");
Console.WriteLine($"| anchor: nft -f of the whole table text, replaced | {Median(nftText):F1} |");
Console.WriteLine($"| anchor: iptables-restore, kube-proxy iptables layout | {Median(iptables):F1} |");
Console.WriteLine($"ratio ours / nft -f text alone: {Median(ours) / Median(nftText):F2}; ours / iptables-restore: {Median(ours) / Median(iptables):F2}");
Console.WriteLine($"p90 ours: {Percentile(ours, 0.9):F1} ms; max {ours.Max():F1} ms");
return 0;

JsonObject Service(int i)
{
    var type = (i % 4) switch { 0 => "NodePort", 1 => "LoadBalancer", _ => "ClusterIP" };
    var port = new JsonObject { ["name"] = "p", ["protocol"] = i % 5 == 0 ? "UDP" : "TCP", ["port"] = 1000 + i, ["targetPort"] = 8080 };
    if (type != "ClusterIP") port["nodePort"] = 30000 + i;
    var spec = new JsonObject { ["type"] = type, ["clusterIP"] = ClusterIp(i), ["clusterIPs"] = new JsonArray(ClusterIp(i)), ["ports"] = new JsonArray(port) };
    if (i % 6 == 0) spec["sessionAffinity"] = "ClientIP";
    return new JsonObject { ["metadata"] = new JsonObject { ["name"] = $"s{i}", ["namespace"] = $"ns{i % 7}" }, ["spec"] = spec };
}

// The slice of Service i; endpoint `unready` (or none, -1) is not ready.
JsonObject Slice(int i, int unready) => new()
{
    ["metadata"] = new JsonObject { ["name"] = $"s{i}-x", ["namespace"] = $"ns{i % 7}", ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = $"s{i}" } },
    ["addressType"] = "IPv4",
    ["ports"] = new JsonArray(new JsonObject { ["name"] = "p", ["protocol"] = i % 5 == 0 ? "UDP" : "TCP", ["port"] = 8080 }),
    ["endpoints"] = new JsonArray([.. Enumerable.Range(0, endpointCount).Select(j => (JsonNode)new JsonObject
    {
        ["addresses"] = new JsonArray(EndpointIp(i, j)), ["nodeName"] = j % 2 == 0 ? "node-a" : "node-b",
        ["conditions"] = new JsonObject { ["ready"] = j != unready },
    })]),
};

string ClusterIp(int i) => $"10.43.{i / 250}.{i % 250 + 1}";
string EndpointIp(int i, int j) => $"10.42.{i % 250}.{j + 2}";

// kube-proxy's iptables mode for the same Services (ClusterIP and NodePort; random choice with the statistic match),
// written whole for the nat table: the amount of work an iptables-based proxy hands the kernel per change.
string IptablesRestore(List<JsonObject> svcs, List<JsonObject> eps)
{
    var w = new StringBuilder("*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n:KUBE-POSTROUTING - [0:0]\n");
    var rules = new StringBuilder();
    rules.Append("-A PREROUTING -j KUBE-SERVICES\n-A OUTPUT -j KUBE-SERVICES\n-A POSTROUTING -j KUBE-POSTROUTING\n");
    rules.Append("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n-A KUBE-POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE --random-fully\n");
    for (var i = 0; i < svcs.Count; i++)
    {
        var port = svcs[i]["spec"]!["ports"]![0]!;
        var proto = ((string)port["protocol"]!).ToLowerInvariant();
        var ready = eps[i]["endpoints"]!.AsArray().Where(e => (bool)e!["conditions"]!["ready"]!).Select(e => (string)e!["addresses"]![0]!).ToList();
        var chain = $"KUBE-SVC-{i:D4}";
        w.Append(':').Append(chain).Append(" - [0:0]\n");
        rules.Append($"-A KUBE-SERVICES -d {ClusterIp(i)}/32 -p {proto} --dport {1000 + i} -j {chain}\n");
        if (port["nodePort"] is not null) rules.Append($"-A KUBE-NODEPORTS -p {proto} --dport {30000 + i} -j {chain}\n");
        for (var k = 0; k < ready.Count; k++)
        {
            var sep = $"KUBE-SEP-{i:D4}-{k:D2}";
            w.Append(':').Append(sep).Append(" - [0:0]\n");
            rules.Append(k < ready.Count - 1
                ? $"-A {chain} -m statistic --mode random --probability {1.0 / (ready.Count - k):F11} -j {sep}\n"
                : $"-A {chain} -j {sep}\n");
            rules.Append($"-A {sep} -s {ready[k]}/32 -j KUBE-MARK-MASQ\n-A {sep} -p {proto} -j DNAT --to-destination {ready[k]}:8080\n");
        }
    }
    rules.Append("-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n");
    return w.Append(rules).Append("COMMIT\n").ToString();
}

static void Ok(HostCommandResult r, string what)
{
    if (r.ExitCode != 0) throw new InvalidOperationException($"{what} failed: {r.Error}");
}

static double Median(List<double> xs) => Stats.Median(xs);
static double Percentile(List<double> xs, double p) => Stats.Percentile(xs, p);
int Option(string name, int fallback) => Stats.Option(args, name, fallback);
