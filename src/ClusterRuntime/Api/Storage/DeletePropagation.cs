// Delete propagation: the garbage-collector finalizers a delete puts on an object, as kube-apiserver's generic store does.
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.Storage;

/// <summary>
/// A delete with <c>propagationPolicy: Foreground</c> keeps the object (with a deletionTimestamp) under the
/// <see cref="ForegroundFinalizer"/> until the garbage collector has deleted its blocking dependents; <c>Orphan</c>
/// keeps it under the <see cref="OrphanFinalizer"/> until the collector has removed the owner references to it;
/// <c>Background</c> deletes it now and leaves the dependents to the collector. An explicit policy (or the legacy
/// <c>orphanDependents</c>) overrides a GC finalizer already present; without one, a present GC finalizer stays and
/// otherwise the resource's default applies.
/// </summary>
public static class DeletePropagation
{
    /// <summary>Delete dependents first, then the owner.</summary>
    public const string Foreground = "Foreground";
    /// <summary>Delete the owner now; the collector deletes the dependents.</summary>
    public const string Background = "Background";
    /// <summary>Delete the owner and keep the dependents, without their owner reference.</summary>
    public const string Orphan = "Orphan";

    /// <summary>The finalizer of a foreground deletion.</summary>
    public const string ForegroundFinalizer = "foregroundDeletion";
    /// <summary>The finalizer of an orphaning deletion.</summary>
    public const string OrphanFinalizer = "orphan";

    /// <summary>
    /// True when deleting an object of <paramref name="r"/> without a policy orphans its dependents: batch/v1 Jobs,
    /// kept so for compatibility upstream (as core/v1 ReplicationControllers, not served here). Everything else
    /// defaults to Background.
    /// </summary>
    public static bool OrphansByDefault(ApiResource r) => r is { Group: "batch", Version: "v1", Kind: "Job" };

    /// <summary>The warning upstream sends when a Job is deleted without a policy.</summary>
    public const string JobOrphanWarning = "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning";

    /// <summary>True when <paramref name="options"/> name no policy.</summary>
    public static bool Unspecified(DeleteOptions options) => string.IsNullOrEmpty(options.PropagationPolicy) && options.OrphanDependents is null;

    /// <summary>The finalizers <paramref name="current"/> has after a delete with <paramref name="options"/>.</summary>
    public static List<string> FinalizersAfterDelete(ApiResource r, JsonObject current, DeleteOptions options)
    {
        var existing = Meta.Finalizers(current);
        bool orphan, foreground;
        if (options.OrphanDependents is bool o) (orphan, foreground) = (o, false);
        else if (!string.IsNullOrEmpty(options.PropagationPolicy))
            (orphan, foreground) = (options.PropagationPolicy == Orphan, options.PropagationPolicy == Foreground);
        else if (existing.Contains(OrphanFinalizer)) (orphan, foreground) = (true, false);
        else if (existing.Contains(ForegroundFinalizer)) (orphan, foreground) = (false, true);
        else (orphan, foreground) = (OrphansByDefault(r), false);

        var result = existing.Where(f => f is not (OrphanFinalizer or ForegroundFinalizer)).ToList();
        if (orphan) result.Add(OrphanFinalizer);
        if (foreground) result.Add(ForegroundFinalizer);
        return result.ToHashSet().SetEquals(existing) ? existing : result;
    }

    /// <summary>Sets <c>metadata.finalizers</c> (removes it when empty).</summary>
    public static void SetFinalizers(JsonObject obj, IReadOnlyCollection<string> finalizers)
    {
        if (finalizers.Count == 0) Meta.Of(obj).Remove("finalizers");
        else Meta.Of(obj)["finalizers"] = new JsonArray(finalizers.Select(f => (JsonNode)JsonValue.Create(f)).ToArray());
    }
}
