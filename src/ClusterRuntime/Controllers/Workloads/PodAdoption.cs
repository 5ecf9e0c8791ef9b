// Adopting orphaned pods that a workload's selector matches, and releasing owned pods it no longer matches.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Workloads;

/// <summary>
/// Upstream's <c>PodControllerRefManager.ClaimPods</c>: a pod without a controller whose labels match the owner's
/// selector (and that <c>canClaim</c> accepts) gets a controller reference to the owner; a pod the owner controls
/// whose labels no longer match loses it. An owner being deleted adopts nothing. This is how a workload deleted
/// with <c>--cascade=orphan</c> and created again takes its pods back instead of starting new ones.
/// </summary>
public static class PodAdoption
{
    static readonly ApiResource Pods = Obj.Resource("", "pods");

    /// <summary>The pods <paramref name="owner"/> controls after adopting and releasing; writes wait for the cache.</summary>
    public static async Task<List<JsonObject>> ClaimAsync(ControllerContext ctx, Informer pods, JsonObject owner, ApiResource ownerResource,
        Func<JsonObject, bool> canClaim, CancellationToken ct)
    {
        var uid = Obj.Uid(owner);
        var ns = Meta.Namespace(owner) ?? "";
        var owned = new List<JsonObject>();
        foreach (var pod in pods.ByIndex(SharedInformers.ByNamespace, ns))
        {
            var controller = Obj.ControllerRef(pod);
            var matches = Obj.Selects(owner, pod, "spec", "selector") && canClaim(pod);
            if (controller is not null && Obj.Str(controller, "uid") == uid)
            {
                if (matches || Obj.IsDeleting(owner)) owned.Add(pod);
                else await WriteAsync(ctx, pods, pod, refs => Remove(refs, uid), ct);
            }
            else if (controller is null && matches && !Obj.IsDeleting(owner) && !Obj.IsDeleting(pod))
            {
                var adopted = await WriteAsync(ctx, pods, pod, refs =>
                {
                    if (refs.OfType<JsonObject>().Any(r => Obj.Bool(r, "controller") == true))
                        throw ApiException.Conflict(Pods, Meta.Name(pod)!, "another controller adopted the pod");
                    Remove(refs, uid);
                    refs.Add(Obj.OwnerRef(owner, ownerResource));
                }, ct);
                if (adopted is not null && Obj.IsControlledBy(adopted, uid)) owned.Add(adopted);
            }
        }
        return owned;
    }

    /// <summary>True when <paramref name="pod"/> has no controller and <paramref name="owner"/>'s selector matches it.</summary>
    public static bool IsOrphanFor(JsonObject pod, JsonObject owner) =>
        Obj.ControllerRef(pod) is null && !Obj.IsDeleting(pod) && Obj.Selects(owner, pod, "spec", "selector");

    static void Remove(JsonArray refs, string uid)
    {
        foreach (var r in refs.OfType<JsonObject>().Where(r => Obj.Str(r, "uid") == uid).ToList()) refs.Remove(r);
    }

    static async Task<JsonObject?> WriteAsync(ControllerContext ctx, Informer pods, JsonObject pod, Action<JsonArray> edit, CancellationToken ct)
    {
        try
        {
            var written = await ctx.Store.UpdateAsync(Pods, Meta.Namespace(pod), Meta.Name(pod)!, cur =>
            {
                if (Obj.Uid(cur) != Obj.Uid(pod)) throw ApiException.Conflict(Pods, Meta.Name(pod)!, "the pod was replaced");
                var meta = Obj.Ensure(cur, "metadata");
                if (meta["ownerReferences"] is not JsonArray refs) meta["ownerReferences"] = refs = [];
                edit(refs);
                if (refs.Count == 0) meta.Remove("ownerReferences");
                return cur;
            }, false, ct);
            await CacheSync.SeenAsync(pods, written, ct);
            return written;
        }
        catch (ApiException e) when (e.Code is 404 or 409)
        {
            return null; // gone, replaced, or taken by another controller meanwhile: the next sync sees it
        }
    }
}
