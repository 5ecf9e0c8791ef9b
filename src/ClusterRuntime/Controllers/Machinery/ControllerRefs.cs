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
/// Objects controlled by someone else are never touched. This is how a workload deleted with <c>--cascade=orphan</c>
/// and created again takes its objects back instead of starting new ones.
/// </summary>
/// <param name="store">Where adoptions and releases are written.</param>
/// <param name="owner">The claiming owner.</param>
/// <param name="ownerResource">The owner's resource (for the owner reference).</param>
/// <param name="selector">The owner's selector; an empty one claims nothing.</param>
/// <param name="canClaim">Upstream's claim filters: a candidate must also pass this to match (null: all pass).</param>
/// <param name="cache">When given, each adoption or release waits until this informer shows it (<see cref="CacheSync"/>).</param>
public sealed class ControllerRefs(ObjectStore store, JsonObject owner, ApiResource ownerResource, LabelSelector selector,
    Func<JsonObject, bool>? canClaim = null, Informer? cache = null)
{
    bool? _canAdopt;

    /// <summary>True when <paramref name="obj"/> has no controller, is not being deleted, and <paramref name="owner"/>'s <c>spec.selector</c> matches it.</summary>
    public static bool IsOrphanFor(JsonObject obj, JsonObject owner) =>
        Obj.ControllerRef(obj) is null && !Obj.IsDeleting(obj) && Obj.Selects(owner, obj, "spec", "selector");

    /// <summary>The candidates the owner controls after adopting and releasing (adopted ones as stored).</summary>
    public async Task<List<JsonObject>> ClaimAsync(ApiResource resource, IEnumerable<JsonObject> candidates, CancellationToken ct)
    {
        var uid = Obj.Uid(owner);
        var ownerDeleting = Obj.IsDeleting(owner);
        var claimed = new List<JsonObject>();
        foreach (var c in candidates)
        {
            var matches = !selector.IsEmpty && selector.Matches(Obj.Labels(c)) && (canClaim?.Invoke(c) ?? true);
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
                RemoveRefs(refs, Obj.Uid(owner)); // a non-controller reference to the owner is replaced, as upstream's patch merges by uid
                refs.Add((JsonNode)Obj.OwnerRef(owner, ownerResource));
                adopted = true;
                return cur;
            }, false, ct);
            if (cache is not null) await CacheSync.SeenAsync(cache, result, ct);
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
            var result = await store.UpdateAsync(resource, Meta.Namespace(child), Meta.Name(child)!, cur =>
            {
                if (Meta.Of(cur)["ownerReferences"] is JsonArray refs)
                {
                    RemoveRefs(refs, uid);
                    if (refs.Count == 0) Meta.Of(cur).Remove("ownerReferences");
                }
                return cur;
            }, false, ct);
            if (cache is not null) await CacheSync.SeenAsync(cache, result, ct);
        }
        catch (ApiException e) when (e.Code == 404)
        {
        }
    }

    static void RemoveRefs(JsonArray refs, string? uid)
    {
        foreach (var r in refs.OfType<JsonObject>().Where(r => Obj.Str(r, "uid") == uid).ToList()) refs.Remove(r);
    }
}
