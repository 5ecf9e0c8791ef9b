// Finding or creating the ReplicaSet of a Deployment's current template, and keeping the revision in step.
using System.Globalization;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using static Appliance.ClusterRuntime.Controllers.Deployment.DeploymentUtil;

namespace Appliance.ClusterRuntime.Controllers.Deployment;

public sealed partial class DeploymentController
{
    /// <summary>
    /// The new ReplicaSet (created when <paramref name="create"/> and missing) and the old ones, after bringing the
    /// new one's revision and annotations up to date (upstream's getAllReplicaSetsAndSyncRevision).
    /// </summary>
    async Task<(JsonObject? New, List<JsonObject> Old)> AllReplicaSetsAsync(JsonObject d, List<JsonObject> sets, bool create, CancellationToken ct)
    {
        var template = Obj.Object(d, "spec", "template");
        var existing = ByCreation(sets).FirstOrDefault(rs => EqualIgnoreHash(Obj.Object(rs, "spec", "template"), template));
        var old = sets.Where(rs => !ReferenceEquals(rs, existing)).ToList();
        var created = await NewReplicaSetAsync(d, existing, old, create, ct);
        return (created, old);
    }

    async Task<JsonObject?> NewReplicaSetAsync(JsonObject d, JsonObject? existing, List<JsonObject> old, bool create, CancellationToken ct)
    {
        var revision = MaxRevision(old) + 1;
        if (existing is not null)
        {
            var copy = Obj.Clone(existing);
            var annotationsChanged = SetNewReplicaSetAnnotations(d, copy, revision, exists: true);
            var minReady = Obj.Int(d, 0, "spec", "minReadySeconds");
            var minReadyChanged = Obj.Int(copy, 0, "spec", "minReadySeconds") != minReady;
            if (minReadyChanged) Obj.Ensure(copy, "spec")["minReadySeconds"] = minReady;
            if (annotationsChanged || minReadyChanged) copy = await UpdateReplicaSetAsync(copy, ct);
            var needsUpdate = SetDeploymentRevision(d, Annotation(copy, RevisionAnnotation));
            var status = Obj.Ensure(d, "status");
            if (DeploymentConditions.Get(status, DeploymentConditions.Progressing) is null)
            {
                DeploymentConditions.Set(status, DeploymentConditions.New(DeploymentConditions.Progressing, "True",
                    DeploymentConditions.FoundNewRSReason, $"Found new replica set \"{Meta.Name(copy)}\"", Now));
                needsUpdate = true;
            }
            if (needsUpdate) await SaveAsync(d, ct);
            return copy;
        }
        if (!create) return null;
        return await CreateNewReplicaSetAsync(d, old, revision, ct);
    }

    async Task<JsonObject?> CreateNewReplicaSetAsync(JsonObject d, List<JsonObject> old, long revision, CancellationToken ct)
    {
        var collisionCount = Obj.Long(d, "status", "collisionCount") is long c ? (int)c : (int?)null;
        var template = Obj.Clone(Obj.Object(d, "spec", "template") ?? new JsonObject());
        var hash = ComputeHash(template, collisionCount);
        Obj.Ensure(template, "metadata", "labels")[HashLabel] = hash;
        var selector = Obj.Clone(Obj.Object(d, "spec", "selector") ?? new JsonObject());
        Obj.Ensure(selector, "matchLabels")[HashLabel] = hash;
        var name = $"{Meta.Name(d)}-{hash}";
        var rs = new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "ReplicaSet",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = Meta.Namespace(d),
                ["labels"] = Obj.At(template, "metadata", "labels")!.DeepClone(),
                ["ownerReferences"] = new JsonArray(Obj.OwnerRef(d, Deployments)),
            },
            ["spec"] = new JsonObject
            {
                ["replicas"] = 0,
                ["minReadySeconds"] = Obj.Int(d, 0, "spec", "minReadySeconds"),
                ["selector"] = selector,
                ["template"] = template,
            },
        };
        var replicas = NewReplicaSetReplicas(d, [.. old, rs], rs);
        rs["spec"]!["replicas"] = replicas;
        SetNewReplicaSetAnnotations(d, rs, revision, exists: false);

        JsonObject created;
        bool alreadyExisted = false;
        try
        {
            created = await _ctx.Store.CreateAsync(ReplicaSets, Meta.Namespace(d), rs, ct);
        }
        catch (ApiException e) when (e.Reason == "AlreadyExists")
        {
            // Ours already (the cache had not seen it yet) when it is controlled by this Deployment with this template;
            // anything else is a hash collision, resolved by hashing again with a higher collisionCount.
            var (_, found) = await _ctx.Store.TryGetAsync(ReplicaSets, Meta.Namespace(d), name, ct);
            if (found is null || !Obj.IsControlledBy(found, Obj.Uid(d)) || !EqualIgnoreHash(Obj.Object(found, "spec", "template"), Obj.Object(d, "spec", "template")))
            {
                Obj.Ensure(d, "status")["collisionCount"] = (collisionCount ?? 0) + 1;
                await SaveAsync(d, ct);
                throw;
            }
            created = found;
            alreadyExisted = true;
        }
        catch (ApiException e) when (e.Code is 400 or 403 or 422)
        {
            var status = Obj.Ensure(d, "status");
            DeploymentConditions.Set(status, DeploymentConditions.New(DeploymentConditions.Progressing, "False",
                DeploymentConditions.FailedRSCreateReason, $"Failed to create new replica set \"{name}\": {e.Message}", Now));
            await SaveAsync(d, ct);
            throw;
        }
        if (!alreadyExisted && replicas > 0)
            _ctx.Events.Record(d, EventRecorder.Normal, "ScalingReplicaSet", $"Scaled up replica set {name} from 0 to {replicas}", Component);
        var needsUpdate = SetDeploymentRevision(d, revision.ToString(CultureInfo.InvariantCulture));
        if (!alreadyExisted && HasProgressDeadline(d))
        {
            DeploymentConditions.Set(Obj.Ensure(d, "status"), DeploymentConditions.New(DeploymentConditions.Progressing, "True",
                DeploymentConditions.NewRSReason, $"Created new replica set \"{name}\"", Now));
            needsUpdate = true;
        }
        if (needsUpdate) await SaveAsync(d, ct);
        return created;
    }

    /// <summary>Sets the Deployment's revision annotation; true when it changed.</summary>
    static bool SetDeploymentRevision(JsonObject d, string? revision)
    {
        if (revision is null || Annotation(d, RevisionAnnotation) == revision) return false;
        Annotations(d)[RevisionAnnotation] = revision;
        return true;
    }

    /// <summary>
    /// How many replicas the new ReplicaSet may have now: all of them for Recreate; for RollingUpdate as many as
    /// fit under replicas + maxSurge. An old ReplicaSet counts with the larger of its spec and its existing pods
    /// (status.replicas), so pods still being deleted keep the surge bound true for pods, not only for specs.
    /// </summary>
    static int NewReplicaSetReplicas(JsonObject d, List<JsonObject> all, JsonObject newRs)
    {
        var replicas = Replicas(d);
        if (!IsRollingUpdate(d)) return replicas;
        var current = all.Sum(rs => ReferenceEquals(rs, newRs) || Meta.Name(rs) == Meta.Name(newRs)
            ? Replicas(rs) : Math.Max(Replicas(rs), Obj.Int(rs, 0, "status", "replicas")));
        var maxTotal = replicas + MaxSurge(d);
        if (current >= maxTotal) return Replicas(newRs);
        var scaleUp = Math.Min(maxTotal - current, replicas - Replicas(newRs));
        return Replicas(newRs) + scaleUp;
    }
}
