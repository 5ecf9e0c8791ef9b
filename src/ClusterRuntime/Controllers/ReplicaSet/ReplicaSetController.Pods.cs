// Creating pods from a ReplicaSet's template and deleting its surplus pods.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.ReplicaSet;

public sealed partial class ReplicaSetController
{
    /// <summary>
    /// Creates <paramref name="count"/> pods in batches of 1, 2, 4, ... (upstream's slowStartBatch): a failing batch
    /// stops the rest, so a quota or admission problem costs one failed call, not hundreds. Creations that will not
    /// happen are taken off the expectations.
    /// </summary>
    async Task CreatePodsAsync(string key, JsonObject rs, int count, CancellationToken ct)
    {
        _expectations.ExpectCreations(key, count);
        int remaining = count, batch = 1;
        while (remaining > 0)
        {
            var size = Math.Min(batch, remaining);
            var results = await Task.WhenAll(Enumerable.Range(0, size).Select(_ => CreatePodAsync(rs, ct)));
            var failed = results.OfType<ApiException>().ToList();
            foreach (var _ in failed) _expectations.CreationObserved(key);
            remaining -= size;
            if (failed.Count > 0)
            {
                for (int i = 0; i < remaining; i++) _expectations.CreationObserved(key);
                throw failed[0];
            }
            batch *= 2;
        }
    }

    async Task<ApiException?> CreatePodAsync(JsonObject rs, CancellationToken ct)
    {
        var pod = PodFromTemplate(rs);
        try
        {
            var created = await _ctx.Store.CreateAsync(Pods, Meta.Namespace(rs), pod, ct);
            _ctx.Events.Record(rs, EventRecorder.Normal, "SuccessfulCreate", $"Created pod: {Meta.Name(created)}", Component);
            return null;
        }
        catch (ApiException e)
        {
            _ctx.Events.Record(rs, EventRecorder.Warning, "FailedCreate", $"Error creating: {e.Message}", Component);
            return e;
        }
    }

    /// <summary>A pod of <paramref name="rs"/>: its template's labels, annotations, finalizers and spec, named <c>RS-xxxxx</c>.</summary>
    static JsonObject PodFromTemplate(JsonObject rs)
    {
        var template = Obj.Object(rs, "spec", "template");
        var meta = new JsonObject
        {
            ["generateName"] = Meta.Name(rs) + "-",
            ["namespace"] = Meta.Namespace(rs),
        };
        foreach (var field in new[] { "labels", "annotations", "finalizers" })
            if (Obj.At(template, "metadata", field) is { } v) meta[field] = v.DeepClone();
        meta["ownerReferences"] = new JsonArray(Obj.OwnerRef(rs, ReplicaSets));
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = meta,
            ["spec"] = Obj.At(template, "spec")?.DeepClone() ?? new JsonObject(),
        };
    }

    async Task DeletePodsAsync(string key, JsonObject rs, List<JsonObject> pods, int count, CancellationToken ct)
    {
        var victims = PodRanking.ToDelete(pods, RelatedPods(rs), count);
        _expectations.ExpectDeletions(key, victims.Select(PodRanking.Key));
        var results = await Task.WhenAll(victims.Select(async pod =>
        {
            try
            {
                await _ctx.Store.DeleteAsync(Pods, Meta.Namespace(pod), Meta.Name(pod)!, new DeleteOptions(Obj.Uid(pod), null, null), ct);
                _ctx.Events.Record(rs, EventRecorder.Normal, "SuccessfulDelete", $"Deleted pod: {Meta.Name(pod)}", Component);
                return null;
            }
            catch (ApiException e) when (e.Code is 404 or 409)
            {
                _expectations.DeletionObserved(key, PodRanking.Key(pod)); // already gone (or replaced by another of that name)
                return null;
            }
            catch (ApiException e)
            {
                _expectations.DeletionObserved(key, PodRanking.Key(pod));
                _ctx.Events.Record(rs, EventRecorder.Warning, "FailedDelete", $"Error deleting: {e.Message}", Component);
                return e;
            }
        }));
        if (results.FirstOrDefault(e => e is not null) is { } failure) throw failure;
    }

    /// <summary>The pods of every ReplicaSet that shares <paramref name="rs"/>'s controller (its own pods when it has none).</summary>
    IEnumerable<JsonObject> RelatedPods(JsonObject rs)
    {
        var siblings = Obj.ControllerRef(rs) is { } owner && Obj.Str(owner, "uid") is { } ownerUid
            ? _sets.ByIndex(SharedInformers.ByOwner, ownerUid).Where(s => Obj.IsControlledBy(s, ownerUid))
            : [rs];
        return siblings.SelectMany(s => _pods.ByIndex(SharedInformers.ByOwner, Obj.Uid(s)).Where(p => Obj.IsControlledBy(p, Obj.Uid(s))));
    }
}
