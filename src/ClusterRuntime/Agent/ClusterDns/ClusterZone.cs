// The cluster's DNS data (the Kubernetes DNS-based service discovery spec, as CoreDNS's kubernetes plugin serves it in K3s).
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Agent.ClusterDns;

/// <summary>
/// Every record of the cluster zone, built at once from Services, EndpointSlices and Nodes (a rebuild per change is
/// cheap: 1,000 Services make a few thousand records). Looking up is one dictionary read.
/// </summary>
public sealed class ClusterZone
{
    readonly Dictionary<string, List<DnsRecord>> _records = new(StringComparer.OrdinalIgnoreCase);
    readonly HashSet<string> _names = new(StringComparer.OrdinalIgnoreCase);
    readonly DnsRecord _soa;

    /// <summary>The cluster domain, <c>cluster.local</c> unless the server says otherwise.</summary>
    public string Domain { get; }

    /// <summary>The TTL of every record, and of negative answers (CoreDNS in K3s: 5 s).</summary>
    public uint Ttl { get; }

    ClusterZone(string domain, uint ttl, uint serial)
    {
        Domain = domain.TrimEnd('.').ToLowerInvariant();
        Ttl = ttl;
        _soa = new DnsRecord(Domain, DnsType.SOA, ttl, new DnsRecordData.StartOfAuthority($"ns.dns.{Domain}", $"hostmaster.{Domain}", serial, 7200, 1800, 86400, ttl));
        _names.Add(Domain);
    }

    /// <summary>Builds the zone from the objects' current state (items as the API lists them).</summary>
    public static ClusterZone Build(string domain, uint ttl, uint serial, IEnumerable<JsonObject> services, IEnumerable<JsonObject> endpointSlices, IEnumerable<JsonObject> nodes)
    {
        var zone = new ClusterZone(domain, ttl, serial);
        var slices = endpointSlices.Where(s => Meta.Label(s, "kubernetes.io/service-name") is not null)
            .ToLookup(s => (Meta.Namespace(s) ?? "", Meta.Label(s, "kubernetes.io/service-name")!));
        foreach (var svc in services) zone.AddService(svc, slices[(Meta.Namespace(svc) ?? "", Meta.Name(svc) ?? "")]);
        foreach (var node in nodes) zone.AddNode(node);
        return zone;
    }

    /// <summary>
    /// The answer for <paramref name="name"/>, or null when the name is not the cluster's (it is forwarded): names
    /// under the domain get NXDOMAIN or NODATA with the SOA; reverse names of unknown addresses are not the cluster's.
    /// </summary>
    public DnsAnswer? Answer(string name, DnsType type)
    {
        name = name.TrimEnd('.');
        if (_records.TryGetValue(name, out var all))
        {
            // A CNAME owner has no other data: it answers every type (RFC 1034 §3.6.2); a target in the zone is
            // followed here, as stub resolvers expect of the server (RFC 1034 §4.3.2), at most 8 deep.
            var matching = all.Where(r => type == DnsType.ANY || r.Type == type || r.Type == DnsType.CNAME).ToList();
            for (int depth = 0; depth < 8 && type is not (DnsType.CNAME or DnsType.ANY) && matching.Count > 0
                && matching[^1].Data is DnsRecordData.DomainName alias && matching[^1].Type == DnsType.CNAME
                && _records.TryGetValue(alias.Name, out var next); depth++)
                matching.AddRange(next.Where(r => r.Type == type || r.Type == DnsType.CNAME));
            return matching.Count > 0 ? new DnsAnswer(DnsRcode.NoError, matching, [], true) : new DnsAnswer(DnsRcode.NoError, [], [_soa], true);
        }
        if (_names.Contains(name)) return new DnsAnswer(DnsRcode.NoError, type == DnsType.SOA && name.Equals(Domain, StringComparison.OrdinalIgnoreCase) ? [_soa] : [], type == DnsType.SOA ? [] : [_soa], true);
        if (!name.EndsWith("." + Domain, StringComparison.OrdinalIgnoreCase)) return null;
        if (PodAddress(name) is { } pod)
            return type is DnsType.A or DnsType.AAAA or DnsType.ANY && (type == DnsType.ANY || (type == DnsType.A) == (pod.AddressFamily == AddressFamily.InterNetwork))
                ? new DnsAnswer(DnsRcode.NoError, [DnsRecord.Address(name, pod, Ttl)], [], true)
                : new DnsAnswer(DnsRcode.NoError, [], [_soa], true);
        return new DnsAnswer(DnsRcode.NxDomain, [], [_soa], true);
    }

    /// <summary>The number of names holding records (for logs and benchmarks).</summary>
    public int Count => _records.Count;

    void AddService(JsonObject svc, IEnumerable<JsonObject> slices)
    {
        var ns = Meta.Namespace(svc) ?? "default";
        var fqdn = $"{Meta.Name(svc)}.{ns}.svc.{Domain}";
        if (Obj.Str(svc, "spec", "type") == "ExternalName")
        {
            if (Obj.Str(svc, "spec", "externalName") is { Length: > 0 } target) Add(DnsRecord.Pointer(fqdn, DnsType.CNAME, target.TrimEnd('.'), Ttl));
            return;
        }
        var clusterIps = ClusterIps(svc);
        if (clusterIps.Count > 0)
        {
            foreach (var ip in clusterIps)
            {
                Add(DnsRecord.Address(fqdn, ip, Ttl));
                Add(DnsRecord.Pointer(Reverse(ip), DnsType.PTR, fqdn, Ttl));
            }
            foreach (var port in Obj.Items(svc, "spec", "ports"))
                if (Obj.Str(port, "name") is { Length: > 0 } portName && Obj.Long(port, "port") is { } number)
                    Add(DnsRecord.Service(Srv(portName, Obj.Str(port, "protocol"), fqdn), 0, 100, (ushort)number, fqdn, Ttl));
            return;
        }
        // Headless: one record per ready endpoint (every endpoint with publishNotReadyAddresses), each with a name of
        // its own: its hostname, else its address with dashes.
        bool all = Obj.Bool(svc, "spec", "publishNotReadyAddresses") == true;
        var seen = new HashSet<string>();
        foreach (var slice in slices)
        {
            var ports = Obj.Items(slice, "ports").Where(p => Obj.Str(p, "name") is { Length: > 0 } && Obj.Long(p, "port") is not null).ToList();
            foreach (var ep in Obj.Items(slice, "endpoints"))
            {
                if (!all && Obj.Bool(ep, "conditions", "ready") == false) continue;
                foreach (var text in (Obj.At(ep, "addresses") as JsonArray ?? []).Select(a => (string?)a))
                {
                    if (!IPAddress.TryParse(text, out var ip) || !seen.Add(ip.ToString())) continue;
                    var own = $"{Obj.Str(ep, "hostname") ?? Dashed(ip)}.{fqdn}";
                    Add(DnsRecord.Address(fqdn, ip, Ttl));
                    Add(DnsRecord.Address(own, ip, Ttl));
                    Add(DnsRecord.Pointer(Reverse(ip), DnsType.PTR, own, Ttl));
                    foreach (var port in ports)
                        Add(DnsRecord.Service(Srv(Obj.Str(port, "name")!, Obj.Str(port, "protocol"), fqdn), 0, 100, (ushort)Obj.Long(port, "port")!.Value, own, Ttl));
                }
            }
        }
        // A headless Service with no ready endpoint still exists: NODATA, not NXDOMAIN.
        AddName(fqdn);
    }

    /// <summary>Node names resolve to their internal addresses, as K3s's NodeHosts does.</summary>
    void AddNode(JsonObject node)
    {
        if (Meta.Name(node) is not { Length: > 0 } name) return;
        foreach (var a in Obj.Items(node, "status", "addresses"))
            if (Obj.Str(a, "type") == "InternalIP" && IPAddress.TryParse(Obj.Str(a, "address"), out var ip))
                Add(DnsRecord.Address(name, ip, Ttl));
    }

    void Add(DnsRecord record)
    {
        if (!_records.TryGetValue(record.Name, out var list)) _records[record.Name] = list = [];
        if (!list.Contains(record)) list.Add(record);
        AddName(record.Name);
    }

    /// <summary>Marks the name and its ancestors inside the domain as existing (empty non-terminals answer NODATA, RFC 8020).</summary>
    void AddName(string name)
    {
        while (name.EndsWith("." + Domain, StringComparison.OrdinalIgnoreCase) && _names.Add(name))
            name = name[(name.IndexOf('.') + 1)..];
    }

    static List<IPAddress> ClusterIps(JsonObject svc)
    {
        var texts = (Obj.At(svc, "spec", "clusterIPs") as JsonArray)?.Select(n => (string?)n).ToList() ?? [Obj.Str(svc, "spec", "clusterIP")];
        return [.. texts.Select(t => IPAddress.TryParse(t, out var ip) ? ip : null).OfType<IPAddress>()];
    }

    static string Srv(string port, string? protocol, string fqdn) => $"_{port.ToLowerInvariant()}._{(protocol ?? "TCP").ToLowerInvariant()}.{fqdn}";

    static string Dashed(IPAddress ip) => ip.ToString().Replace('.', '-').Replace(':', '-');

    /// <summary><c>a-b-c-d.NS.pod.DOMAIN</c> (CoreDNS "pods insecure": the address is not checked against a pod).</summary>
    IPAddress? PodAddress(string name)
    {
        var labels = name[..^(Domain.Length + 1)].Split('.');
        if (labels.Length != 3 || !labels[2].Equals("pod", StringComparison.OrdinalIgnoreCase)) return null;
        var text = labels[0].Contains("--") || labels[0].Count(c => c == '-') != 3 ? labels[0].Replace('-', ':') : labels[0].Replace('-', '.');
        return IPAddress.TryParse(text, out var ip) ? ip : null;
    }

    /// <summary>The reverse name of an address: <c>d.c.b.a.in-addr.arpa</c> or 32 nibbles under <c>ip6.arpa</c> (RFC 3596 §2.5).</summary>
    public static string Reverse(IPAddress ip)
    {
        var bytes = ip.GetAddressBytes();
        if (ip.AddressFamily == AddressFamily.InterNetwork) return $"{bytes[3]}.{bytes[2]}.{bytes[1]}.{bytes[0]}.in-addr.arpa";
        return string.Join('.', bytes.Reverse().SelectMany(b => new[] { "0123456789abcdef"[b & 0xF], "0123456789abcdef"[b >> 4] })) + ".ip6.arpa";
    }
}
