// The two rollout strategies: RollingUpdate within maxSurge/maxUnavailable, and Recreate.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;
using static Appliance.ClusterRuntime.Controllers.Deployment.DeploymentUtil;

namespace Appliance.ClusterRuntime.Controllers.Deployment;

public sealed partial class DeploymentController
{
    /// <summary>One step of a rolling update: scale the new ReplicaSet up, or else old ones down; clean up once complete.</summary>
    async Task RolloutRollingAsync(JsonObject d, List<JsonObject> sets, CancellationToken ct)
    {
        var (newRs, old) = await AllReplicaSetsAsync(d, sets, create: true, ct);
        if (newRs is not null && Replicas(newRs) != Replicas(d))
        {
            var target = Replicas(newRs) > Replicas(d) ? Replicas(d) : NewReplicaSetReplicas(d, All(newRs, old), newRs);
            var scaled = await ScaleWithEventAsync(newRs, target, d, ct);
            if (!ReferenceEquals(scaled, newRs))
            {
                await SyncRolloutStatusAsync(d, All(scaled, old), scaled, ct);
                return;
            }
        }
        if (await ReconcileOldAsync(d, newRs, old, ct))
        {
            await SyncRolloutStatusAsync(d, All(newRs, old), newRs, ct);
            return;
        }
        if (IsComplete(d, Obj.Object(d, "status") ?? [])) await CleanupAsync(d, old, ct);
        await SyncRolloutStatusAsync(d, All(newRs, old), newRs, ct);
    }

    /// <summary>
    /// Scales old ReplicaSets down as far as maxUnavailable allows: first their unavailable pods, then available ones,
    /// oldest ReplicaSet first (upstream's reconcileOldReplicaSets). <paramref name="old"/> is updated in place.
    /// </summary>
    async Task<bool> ReconcileOldAsync(JsonObject d, JsonObject? newRs, List<JsonObject> old, CancellationToken ct)
    {
        if (SpecReplicas(old) == 0) return false;
        var minAvailable = Replicas(d) - MaxUnavailable(d);
        var newUnavailable = newRs is null ? 0 : Replicas(newRs) - Obj.Int(newRs, 0, "status", "availableReplicas");
        var maxScaledDown = SpecReplicas(All(newRs, old)) - minAvailable - newUnavailable;
        if (maxScaledDown <= 0) return false;

        int cleaned = 0;
        foreach (var rs in ByCreation(old))
        {
            if (cleaned >= maxScaledDown) break;
            var available = Obj.Int(rs, 0, "status", "availableReplicas");
            if (Replicas(rs) == 0 || Replicas(rs) <= available) continue;
            var down = Math.Min(maxScaledDown - cleaned, Replicas(rs) - available);
            old[old.IndexOf(rs)] = await ScaleWithEventAsync(rs, Replicas(rs) - down, d, ct);
            cleaned += down;
        }

        // The available count takes each old ReplicaSet at most at its spec: one already scaled down may still
        // report pods its controller is deleting, and counting those would let availability drop below the bound.
        var availableNow = All(newRs, old).Sum(rs => Math.Min(Replicas(rs), Obj.Int(rs, 0, "status", "availableReplicas")));
        int scaledDown = 0;
        if (availableNow > minAvailable)
        {
            var total = availableNow - minAvailable;
            foreach (var rs in ByCreation(old))
            {
                if (scaledDown >= total) break;
                if (Replicas(rs) == 0) continue;
                var down = Math.Min(Replicas(rs), total - scaledDown);
                old[old.IndexOf(rs)] = await ScaleWithEventAsync(rs, Replicas(rs) - down, d, ct);
                scaledDown += down;
            }
        }
        return cleaned + scaledDown > 0;
    }

    /// <summary>Recreate: old ReplicaSets to zero, wait until none of their pods runs, then the new one to full size.</summary>
    async Task RolloutRecreateAsync(JsonObject d, List<JsonObject> sets, CancellationToken ct)
    {
        var (newRs, old) = await AllReplicaSetsAsync(d, sets, create: false, ct);
        var scaled = false;
        foreach (var rs in Active(old))
        {
            old[old.IndexOf(rs)] = await ScaleWithEventAsync(rs, 0, d, ct);
            scaled = true;
        }
        if (scaled || OldPodsRunning(newRs, old))
        {
            await SyncRolloutStatusAsync(d, All(newRs, old), newRs, ct);
            return;
        }
        if (newRs is null) (newRs, old) = await AllReplicaSetsAsync(d, sets, create: true, ct);
        if (newRs is not null) newRs = await ScaleWithEventAsync(newRs, Replicas(d), d, ct);
        if (IsComplete(d, Obj.Object(d, "status") ?? [])) await CleanupAsync(d, old, ct);
        await SyncRolloutStatusAsync(d, All(newRs, old), newRs, ct);
    }

    /// <summary>True while an old ReplicaSet reports pods or has a pod (of any state but Succeeded/Failed) in the cache.</summary>
    bool OldPodsRunning(JsonObject? newRs, List<JsonObject> old)
    {
        if (ActualReplicas(old) > 0) return true;
        var newUid = newRs is null ? null : Obj.Uid(newRs);
        return old.Where(rs => Obj.Uid(rs) != newUid).Any(rs => _pods.ByIndex(SharedInformers.ByOwner, Obj.Uid(rs))
            .Any(p => Obj.IsControlledBy(p, Obj.Uid(rs)) && !PodState.IsTerminal(p)));
    }
}
