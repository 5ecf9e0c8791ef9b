// The sandbox's resolv.conf (CRI dns_config) from dnsPolicy and dnsConfig, as upstream's kubelet builds it (pkg/kubelet/network/dns).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Agent.Kubelet;

/// <summary>
/// <c>ClusterFirst</c> (the default) and <c>ClusterFirstWithHostNet</c>: the cluster DNS, searches
/// <c>NS.svc.DOMAIN svc.DOMAIN DOMAIN</c> then the node's own, <c>ndots:5</c>; a hostNetwork pod with ClusterFirst,
/// or no cluster DNS known, gets <c>Default</c>: the node's resolv.conf (a node without one, or an empty path:
/// <c>127.0.0.1</c> and search <c>.</c>, upstream's "no lookups"). <c>None</c> starts empty. Then <c>spec.dnsConfig</c> is appended:
/// nameservers and searches added without repeats, options merged by name (the pod's value wins). At most 3
/// nameservers and 32 search domains are kept, as upstream. An empty result makes containerd copy the node's file.
/// </summary>
internal static class PodDns
{
    const int MaxNameservers = 3;
    const int MaxSearches = 32;

    /// <summary>The DNS config of <paramref name="pod"/>'s sandbox.</summary>
    public static DNSConfig For(JsonObject pod, KubeletOptions options)
    {
        var policy = Obj.Str(pod, "spec", "dnsPolicy") ?? "ClusterFirst";
        var hostNetwork = CriConfigs.HostNetwork(pod);
        var cluster = !string.IsNullOrEmpty(options.ClusterDns)
            && (policy == "ClusterFirstWithHostNet" || policy == "ClusterFirst" && !hostNetwork);
        List<string> servers = [], searches = [], opts = [];
        var host = policy == "None" ? null : ResolvConf.Read(options.ResolvConf);
        if (host is not null) (servers, searches, opts) = host.Value;
        if (cluster)
        {
            var ns = Obj.Str(pod, "metadata", "namespace");
            var domain = options.ClusterDomain;
            servers = [options.ClusterDns!];
            searches = [$"{ns}.svc.{domain}", $"svc.{domain}", domain, .. searches];
            opts = ["ndots:5"];
        }
        else if (policy != "None" && host is null)
        {
            // No resolv.conf on the node (an offline appliance may have none): upstream's "no lookups".
            servers = ["127.0.0.1"];
            searches = ["."];
        }
        if (Obj.Object(pod, "spec", "dnsConfig") is { } extra)
        {
            servers = [.. servers.Concat(Strings(extra, "nameservers")).Distinct()];
            searches = [.. searches.Concat(Strings(extra, "searches")).Distinct()];
            opts = Merge(opts, Obj.Items(extra, "options").Select(o => (Obj.Str(o, "name") ?? "", Obj.Str(o, "value"))));
        }
        var config = new DNSConfig();
        config.Servers.AddRange(servers.Take(MaxNameservers));
        config.Searches.AddRange(searches.Take(MaxSearches));
        config.Options.AddRange(opts);
        return config;
    }

    static IEnumerable<string> Strings(JsonObject obj, string field) =>
        (obj[field] as JsonArray ?? []).Select(n => n?.GetValue<string>()).OfType<string>().Where(s => s.Length > 0);

    /// <summary>Options by name, in first-seen order; a later value replaces an earlier one (<c>name</c> or <c>name:value</c>).</summary>
    static List<string> Merge(List<string> existing, IEnumerable<(string Name, string? Value)> added)
    {
        var merged = new List<(string Name, string? Value)>();
        void Set(string name, string? value)
        {
            var at = merged.FindIndex(o => o.Name == name);
            if (at >= 0) merged[at] = (name, value);
            else merged.Add((name, value));
        }
        foreach (var o in existing)
        {
            var colon = o.IndexOf(':');
            if (colon >= 0) Set(o[..colon], o[(colon + 1)..]);
            else Set(o, null);
        }
        foreach (var (name, value) in added) if (name.Length > 0) Set(name, value);
        return [.. merged.Select(o => string.IsNullOrEmpty(o.Value) ? o.Name : $"{o.Name}:{o.Value}")];
    }
}

/// <summary>The node's resolv.conf: <c>nameserver</c>, <c>search</c> (the last one counts) and <c>options</c> lines.</summary>
internal static class ResolvConf
{
    /// <summary>Reads <paramref name="path"/>; null when there is no such file (or no path).</summary>
    public static (List<string> Servers, List<string> Searches, List<string> Options)? Read(string? path)
    {
        List<string> servers = [], searches = [], options = [];
        string[] lines;
        try { lines = File.ReadAllLines(path ?? ""); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { return null; }
        foreach (var raw in lines)
        {
            var line = raw.Split('#', ';')[0];
            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2) continue;
            switch (fields[0])
            {
                case "nameserver": servers.Add(fields[1]); break;
                case "search": searches = [.. fields.Skip(1)]; break;
                case "options": options.AddRange(fields.Skip(1)); break;
            }
        }
        return (servers, searches, options);
    }
}
