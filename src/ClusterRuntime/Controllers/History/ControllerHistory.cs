// The ControllerRevisions of one DaemonSet or StatefulSet: the revision of the current template, numbering, truncation.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;

namespace Appliance.ClusterRuntime.Controllers.History;

/// <summary>
/// Upstream's <c>controller/history</c> as the DaemonSet and StatefulSet controllers use it. Each distinct template
/// is one ControllerRevision named <c>PARENT-HASH</c>, owned by the parent (controller reference), labelled with the
/// template's labels and <paramref name="hashLabel"/>=HASH, carrying the parent's annotations (so
/// <c>kubectl rollout history</c> shows <c>kubernetes.io/change-cause</c>). The revision of the current template
/// always has the highest number: going back to an older template renumbers that revision instead of adding one.
/// A name taken by a revision with other data is a hash collision: <c>status.collisionCount</c> goes up and the
/// hash is taken again.
/// </summary>
public sealed class ControllerHistory(ControllerContext ctx, ApiResource parentResource, string hashLabel)
{
    /// <summary>apps/v1 controllerrevisions.</summary>
    public static readonly ApiResource Resource = Obj.Resource("apps", "controllerrevisions");

    /// <summary>The label pods carry with their revision (the hash for DaemonSets, the revision name for StatefulSets).</summary>
    public const string PodRevisionLabel = "controller-revision-hash";

    /// <summary>The informer of ControllerRevisions.</summary>
    public Informer Informer { get; } = ctx.Informers.For(Resource);

    /// <summary>The revision's number.</summary>
    public static long Number(JsonObject revision) => Obj.Long(revision, "revision") ?? 0;

    /// <summary>The revisions controlled by <paramref name="parent"/>, oldest number first.</summary>
    public List<JsonObject> Owned(JsonObject parent)
    {
        var uid = Obj.Uid(parent);
        return Informer.ByIndex(SharedInformers.ByOwner, uid)
            .Where(r => Obj.IsControlledBy(r, uid))
            .OrderBy(Number).ThenBy(r => Meta.Str(r, "creationTimestamp"), StringComparer.Ordinal).ThenBy(r => Meta.Name(r), StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// Makes sure the revision of <paramref name="parent"/>'s current template exists and has the highest number.
    /// Returns it, all owned revisions (oldest first, including it) and the collision count to store in the status.
    /// </summary>
    public async Task<(JsonObject Update, List<JsonObject> All, int CollisionCount)> EnsureCurrentAsync(JsonObject parent, CancellationToken ct)
    {
        var ns = Meta.Namespace(parent);
        var revisions = Owned(parent);
        var data = RevisionData.Of(parent);
        var collisions = Obj.Int(parent, 0, "status", "collisionCount");
        var next = revisions.Count == 0 ? 1 : Number(revisions[^1]) + 1;
        if (revisions.LastOrDefault(r => RevisionData.Equal(r["data"], data)) is { } equal)
        {
            if (ReferenceEquals(equal, revisions[^1])) return (equal, revisions, collisions);
            var renumbered = await ctx.Store.UpdateAsync(Resource, ns, Meta.Name(equal)!, cur =>
            {
                cur["revision"] = next;
                return cur;
            }, false, ct);
            await CacheSync.SeenAsync(Informer, renumbered, ct);
            revisions.Remove(equal);
            revisions.Add(renumbered);
            return (renumbered, revisions, collisions);
        }
        for (var attempt = 0; ; attempt++)
        {
            var hash = RevisionData.Hash(data, collisions == 0 ? null : collisions);
            var revision = NewRevision(parent, hash, data, next);
            try
            {
                var created = await ctx.Store.CreateAsync(Resource, ns, revision, ct);
                await CacheSync.SeenAsync(Informer, created, ct);
                revisions.Add(created);
                return (created, revisions, collisions);
            }
            catch (ApiException e) when (e.Code == 409 && attempt < 8)
            {
                var existing = await ctx.Store.GetAsync(Resource, ns, Meta.Name(revision)!, null, ct);
                if (Obj.IsControlledBy(existing, Obj.Uid(parent)) && RevisionData.Equal(existing["data"], data))
                {
                    await CacheSync.SeenAsync(Informer, existing, ct); // ours, written by an earlier sync the cache had not shown yet
                    revisions.RemoveAll(r => Meta.Name(r) == Meta.Name(existing));
                    revisions.Add(existing);
                    return (existing, revisions, collisions);
                }
                collisions++;
            }
        }
    }

    /// <summary>
    /// Adopts revisions without a controller whose labels <paramref name="parent"/>'s selector matches (left behind
    /// by a parent deleted with <c>--cascade=orphan</c>), as upstream's <c>ClaimControllerRevisions</c>.
    /// </summary>
    public async Task AdoptAsync(JsonObject parent, CancellationToken ct)
    {
        if (Obj.IsDeleting(parent)) return;
        foreach (var revision in Informer.ByIndex(SharedInformers.ByNamespace, Meta.Namespace(parent) ?? ""))
        {
            if (Obj.ControllerRef(revision) is not null || Obj.IsDeleting(revision) || !Obj.Selects(parent, revision, "spec", "selector")) continue;
            try
            {
                var adopted = await ctx.Store.UpdateAsync(Resource, Meta.Namespace(revision), Meta.Name(revision)!, cur =>
                {
                    if (Obj.Uid(cur) != Obj.Uid(revision) || Obj.ControllerRef(cur) is not null)
                        throw ApiException.Conflict(Resource, Meta.Name(revision)!, "the revision was replaced or adopted meanwhile");
                    var refs = Obj.At(cur, "metadata", "ownerReferences") as JsonArray ?? [];
                    refs.Add((JsonNode)Obj.OwnerRef(parent, parentResource));
                    Obj.Ensure(cur, "metadata")["ownerReferences"] = refs.DeepClone();
                    return cur;
                }, false, ct);
                await CacheSync.SeenAsync(Informer, adopted, ct);
            }
            catch (ApiException e) when (e.Code is 404 or 409) { }
        }
    }

    /// <summary>
    /// Deletes the oldest revisions that <paramref name="isLive"/> does not protect, so that at most
    /// <c>spec.revisionHistoryLimit</c> (default 10) of them remain.
    /// </summary>
    public async Task TruncateAsync(JsonObject parent, IEnumerable<JsonObject> revisions, Func<JsonObject, bool> isLive, CancellationToken ct)
    {
        var limit = Math.Max(0, Obj.Int(parent, 10, "spec", "revisionHistoryLimit"));
        var old = revisions.Where(r => !isLive(r)).ToList();
        foreach (var revision in old.Take(Math.Max(0, old.Count - limit)))
        {
            try { await ctx.Store.DeleteAsync(Resource, Meta.Namespace(revision), Meta.Name(revision)!, new DeleteOptions(Obj.Uid(revision), null, null), ct); }
            catch (ApiException e) when (e.Code is 404 or 409) { }
        }
    }

    /// <summary>The hash label value of a revision.</summary>
    public string HashOf(JsonObject revision) => Meta.Label(revision, hashLabel) ?? "";

    JsonObject NewRevision(JsonObject parent, string hash, JsonObject data, long number)
    {
        var labels = Obj.Object(parent, "spec", "template", "metadata", "labels") is { } l ? (JsonObject)l.DeepClone() : new JsonObject();
        labels[hashLabel] = hash;
        var metadata = new JsonObject
        {
            ["name"] = Name(Meta.Name(parent)!, hash),
            ["namespace"] = Meta.Namespace(parent),
            ["labels"] = labels,
            ["ownerReferences"] = new JsonArray(Obj.OwnerRef(parent, parentResource)),
        };
        if (Obj.Object(parent, "metadata", "annotations") is { Count: > 0 } annotations) metadata["annotations"] = annotations.DeepClone();
        return new JsonObject
        {
            ["apiVersion"] = Resource.ApiVersion,
            ["kind"] = Resource.Kind,
            ["metadata"] = metadata,
            ["data"] = data,
            ["revision"] = number,
        };
    }

    /// <summary>Upstream's <c>ControllerRevisionName</c>: the parent's name (cut to 223 characters), a dash and the hash.</summary>
    public static string Name(string parent, string hash) => (parent.Length > 223 ? parent[..223] : parent) + "-" + hash;
}
