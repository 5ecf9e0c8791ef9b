// Graceful deletion of pods: what kube-apiserver's pod strategy (CheckGracefulDelete) and rest.BeforeDelete decide.
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.Storage;

/// <summary>What a delete does to an object's deletion grace period.</summary>
/// <param name="Pending">A graceful deletion is under way and the request does not shorten it: nothing changes.</param>
/// <param name="At">The new <c>deletionTimestamp</c>, when the request starts or shortens a graceful deletion.</param>
/// <param name="Grace">The new <c>deletionGracePeriodSeconds</c> (with <paramref name="At"/>); 0 deletes at once.</param>
internal readonly record struct GraceDecision(bool Pending, DateTimeOffset? At, long Grace)
{
    /// <summary>No grace period: the object goes at once (or waits for its finalizers only).</summary>
    public static readonly GraceDecision Now = new(false, null, 0);

    /// <summary>True when the object is to be kept with a deletionTimestamp in the future.</summary>
    public bool Keeps => At is not null && Grace > 0;
}

/// <summary>
/// A pod bound to a node and not yet Succeeded or Failed is not removed by a delete: it gets
/// <c>deletionTimestamp</c> = now + grace and <c>deletionGracePeriodSeconds</c> = grace, where grace is the request's
/// <c>gracePeriodSeconds</c>, else the pod's <c>spec.terminationGracePeriodSeconds</c>; its kubelet stops the
/// containers within that time and then deletes it with grace 0. An unbound or finished pod, or grace 0, goes at
/// once. A later delete may only shorten the period (the timestamp moves back by the difference). A negative grace
/// counts as 1 s, as upstream.
/// </summary>
internal static class GracefulDeletion
{
    /// <summary>The decision for deleting <paramref name="current"/> of <paramref name="r"/> with <paramref name="options"/>.</summary>
    public static GraceDecision Decide(ApiResource r, JsonObject current, DeleteOptions options, DateTimeOffset now)
    {
        if (r is not { Group: "", Kind: "Pod" }) return GraceDecision.Now;
        long? requested = options.GracePeriodSeconds is < 0 ? 1 : options.GracePeriodSeconds;
        var meta = Meta.Of(current);
        if (Meta.Str(current, "deletionTimestamp") is { } stamp)
        {
            // Deleting already: without a grace period (finalizers only, or an update that stopped half way) it goes now.
            var existing = Long(meta["deletionGracePeriodSeconds"]);
            if (existing is null or <= 0) return GraceDecision.Now;
            if (requested is null || requested >= existing) return new(true, null, existing.Value);
            if (!DateTimeOffset.TryParse(stamp, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var started))
                return GraceDecision.Now;
            return new(false, started.AddSeconds(requested.Value - existing.Value), requested.Value);
        }
        // Read defensively: a stored object of the wrong shape must still be deletable.
        var spec = current["spec"] as JsonObject;
        var grace = requested ?? Long(spec?["terminationGracePeriodSeconds"]) ?? 0;
        if (string.IsNullOrEmpty(Str(spec?["nodeName"]))) grace = 0;
        if (Str((current["status"] as JsonObject)?["phase"]) is "Succeeded" or "Failed") grace = 0;
        if (grace < 0) grace = 1;
        return grace == 0 ? GraceDecision.Now : new(false, now.AddSeconds(grace), grace);
    }

    /// <summary>True when <paramref name="obj"/> is being deleted with a grace period that its kubelet ends.</summary>
    public static bool InGracePeriod(JsonObject obj) => Long(Meta.Of(obj)["deletionGracePeriodSeconds"]) > 0;

    static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    static long? Long(JsonNode? n) => n is JsonValue v && v.TryGetValue<long>(out var l) ? l : n is JsonValue i && i.TryGetValue<int>(out var x) ? x : null;
}
