// Adopting and releasing objects by controller owner reference, as client-go's ControllerRefManager.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Controllers.Machinery;

/// <summary>
/// An owner (a ReplicaSet, a Deployment, ...) claims the objects its selector matches: those it controls and still
/// matches it keeps, those it controls but no longer matches it releases (its owner reference removed), and orphans
/// that match it adopts (a controller owner reference added), unless the owner or the orphan is being deleted.
/// Objects controlled by someone else are never touched.
/// </summary>
public sealed class ControllerRefs(ObjectStore store, JsonObject owner, ApiResource ownerResource, LabelSelector selector)
{
    bool? _canAdopt;

    /// <summary>The candidates the owner controls after adopting and releasing (adopted ones as stored).</summary>
    public async Task<List<JsonObject>> ClaimAsync(ApiResource resource, IEnumerable<JsonObject> candidates, CancellationToken ct)
    {
        var uid = Obj.Uid(owner);
        var ownerDeleting = Obj.IsDeleting(owner);
        var claimed = new List<JsonObject>();
        foreach (var c in candidates)
        {
            var matches = !selector.IsEmpty && selector.Matches(Obj.Labels(c));
            if (Obj.ControllerRef(c) is { } cref)
            {
                if (Obj.Str(cref, "uid") != uid) continue;
                if (matches) claimed.Add(c);
                else if (!ownerDeleting) await ReleaseAsync(resource, c, uid, ct);
                continue;
            }
            if (!matches || ownerDeleting || Obj.IsDeleting(c)) continue;
            if (await AdoptAsync(resource, c, ct) is { } adopted) claimed.Add(adopted);
        }
        return claimed;
    }

    async Task<JsonObject?> AdoptAsync(ApiResource resource, JsonObject child, CancellationToken ct)
    {
        // As upstream, adopt only when a fresh read shows the same owner, not being deleted (the cache may be stale).
        if (_canAdopt is null)
        {
            var (_, fresh) = await store.TryGetAsync(ownerResource, Meta.Namespace(owner), Meta.Name(owner)!, ct);
            _canAdopt = fresh is not null && Obj.Uid(fresh) == Obj.Uid(owner) && !Obj.IsDeleting(fresh);
        }
        if (_canAdopt == false) return null;
        bool adopted = false;
        try
        {
            var result = await store.UpdateAsync(resource, Meta.Namespace(child), Meta.Name(child)!, cur =>
            {
                adopted = false;
                if (Obj.ControllerRef(cur) is not null || Obj.IsDeleting(cur) || Obj.Uid(cur) != Obj.Uid(child)) return cur;
                if (Meta.Of(cur)["ownerReferences"] is not JsonArray refs) Meta.Of(cur)["ownerReferences"] = refs = [];
                refs.Add(Obj.OwnerRef(owner, ownerResource));
                adopted = true;
                return cur;
            }, false, ct);
            return adopted ? result : null;
        }
        catch (ApiException e) when (e.Code == 404)
        {
            return null;
        }
    }

    async Task ReleaseAsync(ApiResource resource, JsonObject child, string uid, CancellationToken ct)
    {
        try
        {
            await store.UpdateAsync(resource, Meta.Namespace(child), Meta.Name(child)!, cur =>
            {
                if (Meta.Of(cur)["ownerReferences"] is JsonArray refs)
                    foreach (var r in refs.OfType<JsonObject>().Where(r => Obj.Str(r, "uid") == uid).ToList()) refs.Remove(r);
                return cur;
            }, false, ct);
        }
        catch (ApiException e) when (e.Code == 404)
        {
        }
    }
}
