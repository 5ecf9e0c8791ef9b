// The garbage collector's work on one object: delete it when its owners are gone, or finish its own foreground or orphaning deletion.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.GarbageCollector;

public sealed partial class GarbageCollectorController
{
    /// <summary>One queued object, read live (the cache may lag): which of the three jobs applies to it.</summary>
    async Task SyncAsync(string key, CancellationToken ct)
    {
        var bar = key.IndexOf('|');
        var (r, _) = _byGroupResource[key[..bar]];
        var (ns, name) = Informer.SplitKey(key[(bar + 1)..]);
        var (_, obj) = await _ctx.Store.TryGetAsync(r, ns, name, ct);
        if (obj is null) return;
        if (Obj.IsDeleting(obj))
        {
            // Being deleted is a one-way trip: only the collector's own finalizers are its business.
            if (HasFinalizer(obj, DeletePropagation.OrphanFinalizer)) await OrphanDependentsAsync(r, obj, ct);
            else if (HasFinalizer(obj, DeletePropagation.ForegroundFinalizer)) await ProcessDeletingDependentsAsync(r, obj, ct);
            return;
        }
        await AttemptToDeleteAsync(r, obj, ct);
    }

    /// <summary>
    /// Sorts the owner references into solid (owner there), dangling (gone, or a different uid under that name) and
    /// waiting (owner in a foreground deletion), then: with a solid owner, drops the other references; with an
    /// owner waiting and dependents of its own, deletes in the foreground (so the chain goes bottom-up); otherwise
    /// deletes, keeping a propagation the object already carries as a finalizer.
    /// </summary>
    async Task AttemptToDeleteAsync(ApiResource r, JsonObject item, CancellationToken ct)
    {
        var refs = Refs(item).ToList();
        if (refs.Count == 0) return;
        List<string> solid = [], dangling = [], waiting = [];
        foreach (var reference in refs)
        {
            var uid = Obj.Str(reference, "uid");
            var ownerName = Obj.Str(reference, "name");
            if (string.IsNullOrEmpty(uid) || string.IsNullOrEmpty(ownerName)) { solid.Add(uid ?? ""); continue; }
            var ownerResource = ResourceTable.FindKind(Obj.Str(reference, "apiVersion") ?? "", Obj.Str(reference, "kind") ?? "");
            if (ownerResource is null || ownerResource.Plural == "events")
            {
                ReportOnce(item, "garbage collector: {Resource} {Key} has an owner reference to {ApiVersion} {Kind} {Owner}, which is not served; the object is left alone",
                    r.GroupResource, Informer.KeyOf(item), Obj.Str(reference, "apiVersion"), Obj.Str(reference, "kind"), ownerName);
                return;
            }
            if (ownerResource.Namespaced && !r.Namespaced)
            {
                ReportOnce(item, "garbage collector: cluster-scoped {Resource} {Key} has an owner reference to namespaced {Kind} {Owner}, which cannot resolve; the object is left alone",
                    r.GroupResource, Informer.KeyOf(item), ownerResource.Kind, ownerName);
                return;
            }
            var ownerNs = ownerResource.Namespaced ? Meta.Namespace(item) : null;
            // The cache is trusted only to say an owner is there: its deletion is an event that queues this object again.
            var cached = _byGroupResource[ownerResource.GroupResource].Informer.Get(ownerNs, ownerName);
            var owner = cached is not null && Obj.Uid(cached) == uid && !IsDeletingDependents(cached)
                ? cached
                : (await _ctx.Store.TryGetAsync(ownerResource, ownerNs, ownerName, ct)).Obj;
            if (owner is null || Obj.Uid(owner) != uid) dangling.Add(uid);
            else if (IsDeletingDependents(owner)) waiting.Add(uid);
            else solid.Add(uid);
        }

        if (solid.Count > 0)
        {
            if (dangling.Count + waiting.Count == 0) return;
            _logger.LogDebug("garbage collector: {Resource} {Key} has a live owner; removing its references to {Uids}", r.GroupResource, Informer.KeyOf(item), string.Join(", ", dangling.Concat(waiting)));
            await UpdateIfSameAsync(r, item, cur => RemoveRefs(cur, [.. dangling, .. waiting]), ct);
            return;
        }
        if (waiting.Count > 0 && DependentsOf(r, item).Count > 0)
        {
            // A dependent that is itself waiting on its dependents may be one of this object's owners (a cycle):
            // unblock this object's references so neither waits on the other forever, as upstream does.
            if (DependentsOf(r, item).Any(d => IsDeletingDependents(d.Obj)))
                await UpdateIfSameAsync(r, item, UnblockRefs, ct);
            await DeleteAsync(r, item, DeletePropagation.Foreground, ct);
            return;
        }
        var policy = HasFinalizer(item, DeletePropagation.OrphanFinalizer) ? DeletePropagation.Orphan
            : HasFinalizer(item, DeletePropagation.ForegroundFinalizer) ? DeletePropagation.Foreground
            : DeletePropagation.Background;
        await DeleteAsync(r, item, policy, ct);
    }

    /// <summary>
    /// An owner in a foreground deletion: once no dependent with <c>blockOwnerDeletion</c> is left, its finalizer goes
    /// (and with it the owner, unless other finalizers hold it); until then every dependent is queued for deletion.
    /// </summary>
    async Task ProcessDeletingDependentsAsync(ApiResource r, JsonObject owner, CancellationToken ct)
    {
        var uid = Obj.Uid(owner);
        var dependents = DependentsOf(r, owner);
        var blocking = dependents.Count(d => Refs(d.Obj).Any(x => Obj.Str(x, "uid") == uid && Obj.Bool(x, "blockOwnerDeletion") == true));
        if (blocking == 0)
        {
            _logger.LogDebug("garbage collector: {Resource} {Key} has no blocking dependents left; removing {Finalizer}", r.GroupResource, Informer.KeyOf(owner), DeletePropagation.ForegroundFinalizer);
            await UpdateIfSameAsync(r, owner, cur => RemoveFinalizer(cur, DeletePropagation.ForegroundFinalizer), ct);
            return;
        }
        foreach (var (dr, dep) in dependents)
            if (!IsDeletingDependents(dep)) Enqueue(dr, dep);
    }

    /// <summary>
    /// An owner in an orphaning deletion: its dependents lose their references to it, then its finalizer goes. The
    /// dependents are read from the store, not the informers: a dependent created just before the owner was deleted
    /// (a Job's pod) may not be in its informer yet, and once the owner is gone it would be collected as dangling.
    /// </summary>
    async Task OrphanDependentsAsync(ApiResource r, JsonObject owner, CancellationToken ct)
    {
        var uid = Obj.Uid(owner);
        var all = new ListOptions(Api.Selectors.LabelSelector.Everything, Api.Selectors.FieldSelector.Everything, 0, null, null, null);
        var dependents = new List<(ApiResource, JsonObject)>();
        foreach (var (dr, _) in _byGroupResource.Values)
        {
            // A namespaced owner's dependents are in its namespace (a cluster-scoped object cannot name it).
            if (r.Namespaced && !dr.Namespaced) continue;
            foreach (var item in (await _ctx.Store.ListAsync(dr, r.Namespaced ? Meta.Namespace(owner) : null, all, ct)).Items)
                if (Obj.Items(item, "metadata", "ownerReferences").Any(o => Obj.Str(o, "uid") == uid)) dependents.Add((dr, item));
        }
        foreach (var (dr, dep) in dependents)
        {
            try { await UpdateIfSameAsync(dr, dep, cur => RemoveRefs(cur, [uid]), ct); }
            catch (ApiException e) when (e.Code == 404) { }
        }
        _logger.LogDebug("garbage collector: orphaned the dependents of {Resource} {Key}; removing {Finalizer}", r.GroupResource, Informer.KeyOf(owner), DeletePropagation.OrphanFinalizer);
        await UpdateIfSameAsync(r, owner, cur => RemoveFinalizer(cur, DeletePropagation.OrphanFinalizer), ct);
    }

    /// <summary>Deletes <paramref name="item"/> (that uid only); gone already or replaced is fine.</summary>
    async Task DeleteAsync(ApiResource r, JsonObject item, string policy, CancellationToken ct)
    {
        _logger.LogDebug("garbage collector: deleting {Resource} {Key} (propagation {Policy})", r.GroupResource, Informer.KeyOf(item), policy);
        try { await _ctx.Store.DeleteAsync(r, Meta.Namespace(item), Meta.Name(item)!, new DeleteOptions(Obj.Uid(item), null, policy), ct); }
        catch (ApiException e) when (e.Code is 404 or 409) { }
    }

    /// <summary>Rewrites the stored object with <paramref name="change"/> while it is still the object of that uid; 404 is fine.</summary>
    async Task UpdateIfSameAsync(ApiResource r, JsonObject item, Action<JsonObject> change, CancellationToken ct)
    {
        var uid = Obj.Uid(item);
        try
        {
            await _ctx.Store.UpdateAsync(r, Meta.Namespace(item), Meta.Name(item)!, cur =>
            {
                if (Obj.Uid(cur) == uid) change(cur);
                return cur;
            }, false, ct);
        }
        catch (ApiException e) when (e.Code == 404) { }
    }

    static void RemoveRefs(JsonObject obj, IReadOnlyCollection<string> uids)
    {
        if (obj["metadata"]?["ownerReferences"] is not JsonArray refs) return;
        var kept = refs.Where(x => x is not JsonObject o || !uids.Contains(Obj.Str(o, "uid") ?? "")).Select(x => x?.DeepClone()).ToArray();
        if (kept.Length == 0) Meta.Of(obj).Remove("ownerReferences");
        else Meta.Of(obj)["ownerReferences"] = new JsonArray(kept);
    }

    static void UnblockRefs(JsonObject obj)
    {
        foreach (var reference in Refs(obj))
            if (Obj.Bool(reference, "blockOwnerDeletion") == true) reference["blockOwnerDeletion"] = false;
    }

    static void RemoveFinalizer(JsonObject obj, string finalizer) =>
        DeletePropagation.SetFinalizers(obj, Meta.Finalizers(obj).Where(f => f != finalizer).ToList());
}
