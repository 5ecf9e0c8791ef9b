// Gives Services their ClusterIP and NodePorts when they are written, and takes them back when they are deleted.
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Datastore;

namespace Appliance.ClusterRuntime.Api.Storage.Services;

/// <summary>
/// What kube-apiserver's Service REST storage does with its IP and port allocators, on the datastore so that every
/// server sharing it agrees: each address or port is a key (<see cref="AllocationKeys"/>). A Service write first
/// claims what it needs (<see cref="CreateAsync"/>, <see cref="UpdateAsync"/>), then writes the Service, then
/// commits or rolls the claim back. A crash between the two leaves a key with no Service, which
/// <c>ServiceAllocationRepair</c> frees.
/// </summary>
public sealed class ServiceAllocator(IBackend backend, ControllerOptions options)
{
    /// <summary>The allocation keys.</summary>
    public AllocationKeys Keys { get; } = new(backend);

    /// <summary>The ClusterIP range (<c>--service-cidr</c>).</summary>
    public IpRange Range { get; } = new(options.ServiceCidr);

    /// <summary>The settings (ranges) in force.</summary>
    public ControllerOptions Options => options;

    /// <summary>The NodePort range as upstream prints it, e.g. <c>30000-32767</c>.</summary>
    public string PortRange => $"{options.NodePortMin}-{options.NodePortMax}";

    /// <summary>Checks and fills the address fields of a new Service and claims its ClusterIP and NodePorts.</summary>
    public async Task<ServiceClaim> CreateAsync(JsonObject svc, CancellationToken ct)
    {
        ServiceSpec.Check(svc);
        ServiceSpec.FillFamilies(svc, Range.Family);
        var claim = new ServiceClaim(Keys, Owner(svc));
        try
        {
            if (ServiceSpec.NeedsClusterIp(svc)) await ClaimClusterIpAsync(svc, claim, ct);
            if (ServiceSpec.NeedsNodePorts(svc)) await ClaimNodePortsAsync(svc, claim, ct);
        }
        catch
        {
            await claim.RollbackAsync(CancellationToken.None);
            throw;
        }
        return claim;
    }

    /// <summary>
    /// Checks an update (<paramref name="svc"/> already has the stored values it left out, see
    /// <see cref="ServiceSpec.KeepAllocated"/>): the ClusterIP may not change; new NodePorts are claimed and the
    /// ones no longer used are freed when the claim is committed.
    /// </summary>
    public async Task<ServiceClaim> UpdateAsync(JsonObject old, JsonObject svc, CancellationToken ct)
    {
        ServiceSpec.Check(svc);
        ServiceSpec.FillFamilies(svc, Range.Family);
        var claim = new ServiceClaim(Keys, Owner(svc));
        bool oldHasIp = ServiceSpec.Type(old) != "ExternalName", newHasIp = ServiceSpec.Type(svc) != "ExternalName";
        if (oldHasIp && newHasIp && ServiceSpec.ClusterIp(old) != ServiceSpec.ClusterIp(svc))
            throw ApiException.Invalid("", "Service", Meta.Name(svc) ?? "", [("spec.clusterIP", $"Invalid value: \"{ServiceSpec.ClusterIp(svc)}\": field is immutable")]);
        try
        {
            if (!oldHasIp && ServiceSpec.NeedsClusterIp(svc)) await ClaimClusterIpAsync(svc, claim, ct);
            if (ServiceSpec.NeedsClusterIp(old) && !newHasIp && Range.OffsetOf(ParseIp(ServiceSpec.ClusterIp(old))) is not null)
                claim.FreeOnCommit(AllocationKeys.Ip(ParseIp(ServiceSpec.ClusterIp(old))));
            var before = ServiceSpec.NeedsNodePorts(old) ? ServiceSpec.Ports(old).Select(ServiceSpec.NodePort).Where(p => p != 0).ToHashSet() : [];
            var after = new HashSet<int>();
            if (ServiceSpec.NeedsNodePorts(svc)) after = await ClaimNodePortsAsync(svc, claim, ct, before);
            foreach (var port in before.Except(after)) claim.FreeOnCommit(AllocationKeys.Port(port));
        }
        catch
        {
            await claim.RollbackAsync(CancellationToken.None);
            throw;
        }
        return claim;
    }

    /// <summary>Frees everything a deleted Service held.</summary>
    public async Task ReleaseAsync(JsonObject svc, CancellationToken ct)
    {
        var uid = Meta.Str(svc, "uid") ?? "";
        if (ServiceSpec.NeedsClusterIp(svc) && IPAddress.TryParse(ServiceSpec.ClusterIp(svc), out var ip) && Range.OffsetOf(ip) is not null)
            await Keys.ReleaseAsync(AllocationKeys.Ip(ip), uid, ct);
        foreach (var port in ServiceSpec.Ports(svc).Select(ServiceSpec.NodePort).Where(p => p != 0).Distinct())
            await Keys.ReleaseAsync(AllocationKeys.Port(port), uid, ct);
    }

    async Task ClaimClusterIpAsync(JsonObject svc, ServiceClaim claim, CancellationToken ct)
    {
        var spec = (JsonObject)svc["spec"]!;
        var requested = ServiceSpec.ClusterIp(svc);
        if (requested.Length > 0)
        {
            var ip = ParseIp(requested);
            string? why = Range.OffsetOf(ip) is null
                ? $"the provided IP ({ip}) is not in the valid range. The range of valid IPs is {Range.Network}"
                : await claim.TryAsync(AllocationKeys.Ip(ip), ct) ? null : "provided IP is already allocated";
            if (why is not null)
                throw ApiException.Invalid("", "Service", Meta.Name(svc) ?? "",
                    [("spec.clusterIPs", $"Invalid value: {ServiceSpec.GoStrings([requested])}: failed to allocate IP {requested}: {why}")]);
            return;
        }
        var dns = Range.OffsetOf(options.ClusterDns);
        var offset = await ClaimNextAsync(AllocationKeys.IpPrefix, Range.Size, Band(Range.Size, 16, 256),
            i => AllocationKeys.Ip(Range.At(Range.First + i)),
            i => i == 0 || Range.First + i == dns, claim, ct)
            ?? throw new ApiException(500, "InternalError", "Internal error occurred: failed to allocate a serviceIP: range is full");
        var address = Range.At(Range.First + offset).ToString();
        spec["clusterIP"] = address;
        spec["clusterIPs"] = new JsonArray(address);
    }

    /// <summary>Claims every port's nodePort (given, or the next free one); returns the nodePorts in use.</summary>
    async Task<HashSet<int>> ClaimNodePortsAsync(JsonObject svc, ServiceClaim claim, CancellationToken ct, HashSet<int>? held = null)
    {
        var ports = ServiceSpec.Ports(svc).ToList();
        var byServicePort = new Dictionary<int, int>();
        var inUse = new HashSet<int>();
        int size = options.NodePortMax - options.NodePortMin + 1;
        for (int i = 0; i < ports.Count; i++)
        {
            var port = ports[i];
            var servicePort = Obj.Int(port, 0, "port");
            var nodePort = ServiceSpec.NodePort(port);
            if (nodePort != 0)
            {
                string? why = nodePort < options.NodePortMin || nodePort > options.NodePortMax
                    ? $"provided port is not in the valid range. The range of valid ports is {PortRange}"
                    : held?.Contains(nodePort) == true || inUse.Contains(nodePort) || await claim.TryAsync(AllocationKeys.Port(nodePort), ct) ? null
                    : "provided port is already allocated";
                if (why is not null)
                    throw ApiException.Invalid("", "Service", Meta.Name(svc) ?? "", [($"spec.ports[{i}].nodePort", $"Invalid value: {nodePort}: {why}")]);
            }
            else if (byServicePort.TryGetValue(servicePort, out var shared)) nodePort = shared; // one nodePort for TCP and UDP of a port
            else
            {
                var offset = await ClaimNextAsync(AllocationKeys.PortPrefix, size, Band(size, 32, 128),
                    k => AllocationKeys.Port(options.NodePortMin + (int)k), _ => false, claim, ct)
                    ?? throw new ApiException(500, "InternalError", "Internal error occurred: failed to allocate a nodePort: range is full");
                nodePort = options.NodePortMin + (int)offset;
            }
            port["nodePort"] = nodePort;
            byServicePort.TryAdd(servicePort, nodePort);
            inUse.Add(nodePort);
        }
        return inUse;
    }

    /// <summary>
    /// Claims a random free index of <paramref name="size"/>, preferring those at or above <paramref name="band"/>:
    /// as upstream, the low band is left for addresses and ports that clients ask for by value.
    /// </summary>
    async Task<long?> ClaimNextAsync(string prefix, long size, long band, Func<long, string> keyOf, Func<long, bool> excluded, ServiceClaim claim, CancellationToken ct)
    {
        var taken = await Keys.TakenAsync(prefix, ct);
        foreach (var (from, to) in new[] { (band, size), (0L, band) })
        {
            if (to <= from) continue;
            var start = from + RandomNumberGenerator.GetInt32((int)Math.Min(int.MaxValue, to - from));
            for (long n = 0; n < to - from; n++)
            {
                var i = from + (start - from + n) % (to - from);
                if (excluded(i) || keyOf(i) is var key && taken.Contains(key[prefix.Length..])) continue;
                if (await claim.TryAsync(key, ct)) return i;
                taken.Add(key[prefix.Length..]); // another server took it first
            }
        }
        return null;
    }

    /// <summary>Upstream's reserved low band: size / <paramref name="step"/>, kept between 16 and <paramref name="max"/>; none in a range below 16.</summary>
    static long Band(long size, int step, int max) => size < 16 ? 0 : Math.Clamp(size / step, 16, max);

    static IPAddress ParseIp(string s) => IPAddress.Parse(s);

    AllocationOwner Owner(JsonObject svc) =>
        new(Meta.Str(svc, "uid") ?? "", Meta.Namespace(svc) ?? "", Meta.Name(svc) ?? "", options.Clock.GetUtcNow());
}

/// <summary>What one Service write claimed; roll it back when the write fails, commit it when it succeeds.</summary>
public sealed class ServiceClaim(AllocationKeys keys, AllocationOwner owner)
{
    readonly List<string> _taken = [];
    readonly List<string> _free = [];

    /// <summary>Claims <paramref name="key"/>; false when another Service holds it.</summary>
    public async Task<bool> TryAsync(string key, CancellationToken ct)
    {
        switch (await keys.TryClaimAsync(key, owner, ct))
        {
            case ClaimResult.Claimed: _taken.Add(key); return true;
            case ClaimResult.Held: return true;
            default: return false;
        }
    }

    /// <summary>Frees <paramref name="key"/> once the write is committed.</summary>
    public void FreeOnCommit(string key) => _free.Add(key);

    /// <summary>The write failed: frees what this claim took.</summary>
    public async Task RollbackAsync(CancellationToken ct)
    {
        foreach (var key in _taken) await keys.ReleaseAsync(key, owner.Uid, ct);
        _taken.Clear();
    }

    /// <summary>The write succeeded: frees what the Service no longer uses.</summary>
    public async Task CommitAsync(CancellationToken ct)
    {
        foreach (var key in _free) await keys.ReleaseAsync(key, owner.Uid, ct);
        _taken.Clear();
        _free.Clear();
    }
}
