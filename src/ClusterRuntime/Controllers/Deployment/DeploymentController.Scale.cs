// Scaling a Deployment's ReplicaSets: plain scale events (proportional), one ReplicaSet at a time, and cleanup.
using System.Globalization;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using static Appliance.ClusterRuntime.Controllers.Deployment.DeploymentUtil;

namespace Appliance.ClusterRuntime.Controllers.Deployment;

public sealed partial class DeploymentController
{
    /// <summary>True when an active ReplicaSet was scaled for another replica count than the Deployment's (a scale, not a rollout).</summary>
    async Task<bool> IsScalingEventAsync(JsonObject d, List<JsonObject> sets, CancellationToken ct)
    {
        var (newRs, old) = await AllReplicaSetsAsync(d, sets, create: false, ct);
        var desired = Replicas(d).ToString(CultureInfo.InvariantCulture);
        return Active([newRs, .. old]).Any(rs => Annotation(rs, DesiredReplicasAnnotation) is { } a && a != desired);
    }

    /// <summary>Scale events and paused Deployments: scale, clean up when paused, and write the status (upstream's sync).</summary>
    async Task SyncAsync(JsonObject d, List<JsonObject> sets, CancellationToken ct)
    {
        var (newRs, old) = await AllReplicaSetsAsync(d, sets, create: false, ct);
        (newRs, old) = await ScaleAsync(d, newRs, old, ct);
        if (Obj.Bool(d, "spec", "paused") == true) await CleanupAsync(d, old, ct);
        await SyncDeploymentStatusAsync(d, All(newRs, old), newRs, ct);
    }

    /// <summary>
    /// Brings the total to the Deployment's replicas: one active (or the newest) ReplicaSet takes it all; a saturated
    /// new one makes the old ones zero; otherwise a rolling Deployment spreads the change over its active ReplicaSets
    /// in proportion to their size, leftovers to the largest.
    /// </summary>
    async Task<(JsonObject? New, List<JsonObject> Old)> ScaleAsync(JsonObject d, JsonObject? newRs, List<JsonObject> old, CancellationToken ct)
    {
        var replicas = Replicas(d);
        var byCreation = ByCreation(old);
        var active = Active([.. byCreation, newRs]);
        JsonObject? target = active.Count switch
        {
            0 => newRs ?? byCreation.LastOrDefault(),
            1 => active[0],
            _ => null,
        };
        if (target is not null)
        {
            if (Replicas(target) != replicas) Replace(target, await ScaleWithEventAsync(target, replicas, d, ct));
            return (newRs, old);
        }
        if (IsSaturated(d, newRs))
        {
            foreach (var rs in Active(old)) Replace(rs, await ScaleWithEventAsync(rs, 0, d, ct));
            return (newRs, old);
        }
        if (!IsRollingUpdate(d)) return (newRs, old);

        var allowed = replicas > 0 ? replicas + MaxSurge(d) : 0;
        var toAdd = allowed - SpecReplicas(active);
        string operation = "";
        if (toAdd > 0)
        {
            active = active.OrderByDescending(Replicas).ThenByDescending(Created).ToList();
            operation = "up";
        }
        else if (toAdd < 0)
        {
            active = active.OrderByDescending(Replicas).ThenBy(Created).ToList();
            operation = "down";
        }
        var sizes = new Dictionary<string, int>(StringComparer.Ordinal);
        int added = 0;
        foreach (var rs in active)
        {
            var proportion = toAdd == 0 ? 0 : Proportion(rs, d, toAdd, added);
            sizes[Meta.Name(rs)!] = Replicas(rs) + proportion;
            added += proportion;
        }
        for (int i = 0; i < active.Count; i++)
        {
            var rs = active[i];
            var name = Meta.Name(rs)!;
            if (i == 0 && toAdd != 0) sizes[name] = Math.Max(0, sizes[name] + toAdd - added);
            Replace(rs, await ScaleReplicaSetAsync(rs, sizes[name], d, operation, ct));
        }
        return (newRs, old);

        void Replace(JsonObject before, JsonObject after)
        {
            if (ReferenceEquals(before, newRs)) newRs = after;
            else if (old.IndexOf(before) is var at and >= 0) old[at] = after;
        }
    }

    static DateTimeOffset Created(JsonObject rs) => Obj.Time(rs, "metadata", "creationTimestamp") ?? DateTimeOffset.MinValue;

    /// <summary>True when <paramref name="rs"/> runs all the Deployment's replicas, available.</summary>
    static bool IsSaturated(JsonObject d, JsonObject? rs) =>
        rs is not null && Annotation(rs, DesiredReplicasAnnotation) == Replicas(d).ToString(CultureInfo.InvariantCulture)
        && Replicas(rs) == Replicas(d) && Obj.Int(rs, 0, "status", "availableReplicas") == Replicas(d);

    /// <summary>The share of <paramref name="toAdd"/> for <paramref name="rs"/> (upstream's GetProportion).</summary>
    static int Proportion(JsonObject rs, JsonObject d, int toAdd, int added)
    {
        if (Replicas(rs) == 0 || toAdd == 0 || toAdd == added) return 0;
        var fraction = Fraction(rs, d);
        var allowed = toAdd - added;
        return toAdd > 0 ? Math.Min(fraction, allowed) : Math.Max(fraction, allowed);
    }

    static int Fraction(JsonObject rs, JsonObject d)
    {
        if (Replicas(d) == 0) return -Replicas(rs);
        var total = Replicas(d) + MaxSurge(d);
        var annotated = int.TryParse(Annotation(rs, MaxReplicasAnnotation), NumberStyles.Integer, CultureInfo.InvariantCulture, out var max)
            ? max : Obj.Int(d, 0, "status", "replicas");
        if (annotated == 0) return 0;
        var size = (double)Replicas(rs) * total / annotated;
        return (int)Math.Round(size, MidpointRounding.AwayFromZero) - Replicas(rs);
    }

    /// <summary>Scales <paramref name="rs"/> to <paramref name="replicas"/> with a ScalingReplicaSet event; unchanged when already there.</summary>
    async Task<JsonObject> ScaleWithEventAsync(JsonObject rs, int replicas, JsonObject d, CancellationToken ct)
    {
        if (Replicas(rs) == replicas) return rs;
        return await ScaleReplicaSetAsync(rs, replicas, d, Replicas(rs) < replicas ? "up" : "down", ct);
    }

    /// <summary>Sets spec.replicas and the replica annotations when either differs; returns the ReplicaSet as stored.</summary>
    async Task<JsonObject> ScaleReplicaSetAsync(JsonObject rs, int replicas, JsonObject d, string operation, CancellationToken ct)
    {
        var sizeChanged = Replicas(rs) != replicas;
        var max = Replicas(d) + MaxSurge(d);
        if (!sizeChanged && !ReplicasAnnotationsNeedUpdate(rs, Replicas(d), max)) return rs;
        var copy = Obj.Clone(rs);
        Obj.Ensure(copy, "spec")["replicas"] = replicas;
        SetReplicasAnnotations(copy, Replicas(d), max);
        var updated = await UpdateReplicaSetAsync(copy, ct);
        if (sizeChanged)
            _ctx.Events.Record(d, EventRecorder.Normal, "ScalingReplicaSet", $"Scaled {operation} replica set {Meta.Name(rs)} from {Replicas(rs)} to {replicas}", Component);
        return updated;
    }

    /// <summary>Deletes the oldest old ReplicaSets beyond revisionHistoryLimit that have no replicas left.</summary>
    async Task CleanupAsync(JsonObject d, List<JsonObject> old, CancellationToken ct)
    {
        if (Obj.Long(d, "spec", "revisionHistoryLimit") is not long limit) return;
        var alive = old.Where(rs => !Obj.IsDeleting(rs)).ToList();
        var diff = alive.Count - (int)limit;
        if (diff <= 0) return;
        foreach (var rs in alive.OrderBy(Revision).ThenBy(Created).Take(diff))
        {
            if (Obj.Int(rs, 0, "status", "replicas") != 0 || Replicas(rs) != 0
                || (Obj.Long(rs, "metadata", "generation") ?? 0) > (Obj.Long(rs, "status", "observedGeneration") ?? 0)) continue;
            try
            {
                await _ctx.Store.DeleteAsync(ReplicaSets, Meta.Namespace(rs), Meta.Name(rs)!, new DeleteOptions(Obj.Uid(rs), null, null), ct);
            }
            catch (ApiException e) when (e.Code is 404 or 409)
            {
            }
        }
    }
}
