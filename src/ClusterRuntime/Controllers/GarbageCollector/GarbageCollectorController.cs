// The garbage collector: follows every served resource and queues the objects whose owners or dependents changed.
using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.GarbageCollector;

/// <summary>
/// kube-controller-manager's garbage collector. The owner→dependents graph is the owner-uid index of metadata-only
/// shared informers over every served resource but events (metadata only, as upstream, so following every type does
/// not hold every object's data in memory); this class turns informer changes into work (an object whose owner
/// references changed, the dependents of a deleted object, an owner in a foreground or orphaning deletion), and
/// <c>GarbageCollectorController.Sync.cs</c> does the work. Nothing is kept outside the informers, so a new term (a restart,
/// a new leader) rebuilds everything from their first lists and finishes half-done deletions.
/// </summary>
public sealed partial class GarbageCollectorController : IController
{
    const int Workers = 4;

    readonly ControllerContext _ctx;
    readonly ILogger _logger;
    readonly WorkQueue _queue;
    readonly Dictionary<string, (ApiResource Resource, Informer Informer)> _byGroupResource = new(StringComparer.Ordinal);

    /// <summary>Problems that will not resolve by retrying, logged once per object uid.</summary>
    readonly ConcurrentDictionary<string, byte> _reported = new(StringComparer.Ordinal);

    /// <summary>Asks for a metadata-only informer of every served resource but events and registers its handler.</summary>
    public GarbageCollectorController(ControllerContext ctx)
    {
        _ctx = ctx;
        _logger = ctx.Logger("GarbageCollector");
        _queue = new WorkQueue(Name, _logger);
        foreach (var r in ResourceTable.Resources.Where(r => r.Plural != "events"))
        {
            var informer = ctx.Informers.ForMetadata(r);
            _byGroupResource[r.GroupResource] = (r, informer);
            informer.OnChange((old, cur) => Changed(r, old, cur));
        }
    }

    /// <inheritdoc />
    public string Name => "garbage-collector-controller";

    /// <inheritdoc />
    public Task RunAsync(CancellationToken ct) => _queue.RunAsync(Workers, SyncAsync, ct);

    void Changed(ApiResource r, JsonObject? old, JsonObject? cur)
    {
        if (cur is null)
        {
            // Its dependents may now have no owner left; an owner waiting on it in a foreground deletion may go.
            var uid = Obj.Uid(old!);
            _reported.TryRemove(uid, out _);
            foreach (var (dr, dep) in DependentsOf(r, old!)) Enqueue(dr, dep);
            EnqueueOwnersDeletingDependents(old!);
            return;
        }
        if (Obj.IsDeleting(cur) && (HasFinalizer(cur, DeletePropagation.ForegroundFinalizer) || HasFinalizer(cur, DeletePropagation.OrphanFinalizer)))
            Enqueue(r, cur);
        bool refsChanged = old is null || !JsonNode.DeepEquals(old["metadata"]?["ownerReferences"], cur["metadata"]?["ownerReferences"]);
        if (refsChanged && Refs(cur).Any()) Enqueue(r, cur);
        if (old is not null && refsChanged)
        {
            EnqueueOwnersDeletingDependents(old);
            EnqueueOwnersDeletingDependents(cur);
        }
    }

    /// <summary>Queues each owner of <paramref name="obj"/> that is waiting for its dependents (cache lookups only).</summary>
    void EnqueueOwnersDeletingDependents(JsonObject obj)
    {
        foreach (var reference in Refs(obj))
        {
            if (Owner(obj, reference) is not { } owner) continue;
            if (owner.Informer.Get(owner.Namespace, Obj.Str(reference, "name") ?? "") is { } cached
                && Obj.Uid(cached) == Obj.Str(reference, "uid") && IsDeletingDependents(cached))
                Enqueue(owner.Resource, cached);
        }
    }

    /// <summary>The cached objects whose owner references name <paramref name="owner"/>'s uid (same namespace for a namespaced owner).</summary>
    List<(ApiResource Resource, JsonObject Obj)> DependentsOf(ApiResource r, JsonObject owner)
    {
        var uid = Obj.Uid(owner);
        var ns = Meta.Namespace(owner);
        var result = new List<(ApiResource, JsonObject)>();
        if (uid.Length == 0) return result;
        foreach (var (resource, informer) in _byGroupResource.Values)
            foreach (var dep in informer.ByIndex(SharedInformers.ByOwner, uid))
                if (!r.Namespaced || Meta.Namespace(dep) == ns) result.Add((resource, dep));
        return result;
    }

    /// <summary>The resource, informer and namespace of the owner a reference names, or null when its kind is not served.</summary>
    (ApiResource Resource, Informer Informer, string? Namespace)? Owner(JsonObject dependent, JsonObject reference)
    {
        if (ResourceTable.FindKind(Obj.Str(reference, "apiVersion") ?? "", Obj.Str(reference, "kind") ?? "") is not { } r) return null;
        if (!_byGroupResource.TryGetValue(r.GroupResource, out var entry)) return null;
        return (r, entry.Informer, r.Namespaced ? Meta.Namespace(dependent) : null);
    }

    void Enqueue(ApiResource r, JsonObject obj) => _queue.Add(r.GroupResource + "|" + Informer.KeyOf(obj));

    static IEnumerable<JsonObject> Refs(JsonObject obj) => Obj.Items(obj, "metadata", "ownerReferences");

    static bool HasFinalizer(JsonObject obj, string finalizer) => Meta.Finalizers(obj).Contains(finalizer);

    /// <summary>True for an object in a foreground deletion: deleting, with the <c>foregroundDeletion</c> finalizer.</summary>
    static bool IsDeletingDependents(JsonObject obj) => Obj.IsDeleting(obj) && HasFinalizer(obj, DeletePropagation.ForegroundFinalizer);

    /// <summary>Logs a problem that retrying will not fix, once per object.</summary>
    void ReportOnce(JsonObject obj, string message, params object?[] args)
    {
        if (_reported.TryAdd(Obj.Uid(obj), 0)) _logger.LogWarning(message, args);
    }
}
