// Periodically makes the ClusterIP and NodePort keys match the stored Services (upstream's repair loops).
using System.Net;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Api.Storage.Services;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.ServiceAllocation;

/// <summary>
/// As kube-apiserver's ClusterIP and NodePort repair controllers, at the start of each term and every
/// <see cref="Interval"/>: a key no Service uses (a server died between claiming it and writing the Service, or while
/// deleting one) is freed once it is older than <see cref="LeakGrace"/> (a claim whose Service write is still in
/// flight is younger); a Service whose address has no key (a datastore restored from before it, a copied Service)
/// gets it back; a Service whose address is out of range or held by another Service gets a Warning event, as upstream.
/// </summary>
public sealed class ServiceAllocationRepair(ControllerContext ctx) : IController
{
    /// <summary>Time between passes (upstream's 3 minutes).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(3);

    /// <summary>How old a key with no Service must be before it is freed.</summary>
    public static readonly TimeSpan LeakGrace = TimeSpan.FromMinutes(1);

    static readonly ApiResource Services = Obj.Resource("", "services");

    /// <inheritdoc />
    public string Name => "service-allocation-repair";

    /// <inheritdoc />
    public async Task RunAsync(CancellationToken ct)
    {
        var logger = ctx.Logger(Name);
        while (!ct.IsCancellationRequested)
        {
            try { await RepairOnceAsync(ct); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e) { logger.LogWarning("repairing Service allocations failed: {Error}; next pass in {Interval}", e.Message, Interval); }
            try { await Task.Delay(Interval, ctx.Clock, ct); } catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>One pass.</summary>
    public async Task RepairOnceAsync(CancellationToken ct)
    {
        if (ctx.Store.Services is not { } allocator) return;
        var all = ListOptions.Everything;
        var services = (await ctx.Store.ListAsync(Services, null, all, ct)).Items;
        var wanted = new Dictionary<string, List<string>>(StringComparer.Ordinal); // key -> uids of the Services that use it
        foreach (var svc in services)
        {
            var uid = Obj.Uid(svc);
            var ip = ServiceSpec.ClusterIp(svc);
            if (ServiceSpec.NeedsClusterIp(svc) && IPAddress.TryParse(ip, out var address))
            {
                if (allocator.Range.OffsetOf(address) is null)
                    ctx.Events.Record(svc, EventRecorder.Warning, "ClusterIPOutOfRange",
                        $"Cluster IP [{allocator.Range.Family}]:{ip} is not within the configured Service CIDR {allocator.Range.Network}; please recreate service", Name);
                else Want(wanted, AllocationKeys.Ip(address), uid);
            }
            foreach (var port in ServiceSpec.Ports(svc).Select(ServiceSpec.NodePort).Where(p => p != 0).Distinct())
            {
                if (port < allocator.Options.NodePortMin || port > allocator.Options.NodePortMax)
                    ctx.Events.Record(svc, EventRecorder.Warning, "PortOutOfRange",
                        $"Port {port} is not within the port range {allocator.PortRange}; please recreate service", Name);
                else Want(wanted, AllocationKeys.Port(port), uid);
            }
        }

        var now = ctx.Clock.GetUtcNow();
        foreach (var (kv, owner) in await allocator.Keys.ListAsync(AllocationKeys.Prefix, ct))
        {
            if (wanted.TryGetValue(kv.Key, out var users) && owner is not null && users.Contains(owner.Uid)) continue;
            if (owner is not null && now - owner.At < LeakGrace) continue;
            await ctx.Store.Backend.DeleteAsync(kv.Key, kv.ModRevision, ct);
        }

        var byUid = services.GroupBy(Obj.Uid).ToDictionary(g => g.Key, g => g.First());
        foreach (var (key, uids) in wanted)
        foreach (var uid in uids)
        {
            var svc = byUid[uid];
            var owner = new AllocationOwner(uid, Meta.Namespace(svc) ?? "", Meta.Name(svc) ?? "", now);
            if (await allocator.Keys.TryClaimAsync(key, owner, ct) != ClaimResult.Taken) continue;
            var (reason, message) = key.StartsWith(AllocationKeys.IpPrefix, StringComparison.Ordinal)
                ? ("ClusterIPAlreadyAllocated", $"Cluster IP [{allocator.Range.Family}]:{key[AllocationKeys.IpPrefix.Length..]} was assigned to multiple services; please recreate service")
                : ("PortAlreadyAllocated", $"Port {key[AllocationKeys.PortPrefix.Length..]} was assigned to multiple services; please recreate service");
            ctx.Events.Record(svc, EventRecorder.Warning, reason, message, Name);
        }
    }

    static void Want(Dictionary<string, List<string>> wanted, string key, string uid)
    {
        if (!wanted.TryGetValue(key, out var uids)) wanted[key] = uids = [];
        if (!uids.Contains(uid)) uids.Add(uid);
    }
}
