// The Deployment controller: one ReplicaSet per pod template, rolled over by the Deployment's strategy.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Deployment;

/// <summary>
/// Upstream's deployment controller (kube-controller-manager 1.32): claims the ReplicaSets its selector matches,
/// finds or creates the one of the current template (named <c>DEPLOY-HASH</c>), and scales new and old ones as the
/// strategy says (RollingUpdate within maxSurge and maxUnavailable, Recreate), proportionally on a plain scale,
/// not at all while paused; then writes status and conditions that <c>kubectl rollout status</c> reads.
/// Writes are conditional on the cached resourceVersion, so a stale cache costs a retry, never a wrong write.
/// </summary>
public sealed partial class DeploymentController : IController
{
    const string Component = "deployment-controller";

    static readonly ApiResource Deployments = Obj.Resource("apps", "deployments");
    static readonly ApiResource ReplicaSets = Obj.Resource("apps", "replicasets");

    readonly ControllerContext _ctx;
    readonly Informer _deployments;
    readonly Informer _sets;
    readonly Informer _pods;
    readonly WorkQueue _queue;

    /// <summary>Registers the controller's handlers on the Deployment, ReplicaSet and Pod informers.</summary>
    public DeploymentController(ControllerContext ctx)
    {
        _ctx = ctx;
        _deployments = ctx.Informers.For(Deployments);
        _sets = ctx.Informers.For(ReplicaSets);
        _pods = ctx.Informers.For("", "pods");
        _queue = new WorkQueue(Name, ctx.Logger("Deployment"), ctx.Clock);
        _deployments.OnChange((old, cur) => _queue.Add(Informer.KeyOf((cur ?? old)!)));
        _sets.OnChange(OnReplicaSet);
        _pods.OnChange(OnPod);
    }

    /// <inheritdoc />
    public string Name => Component;

    /// <inheritdoc />
    public Task RunAsync(CancellationToken ct) => _queue.RunAsync(5, SyncAsync, ct);

    DateTimeOffset Now => _ctx.Clock.GetUtcNow();

    /// <summary>The Deployment a controller reference names, when cached with that uid.</summary>
    JsonObject? Resolve(string? ns, JsonObject? controllerRef)
    {
        if (controllerRef is null || Obj.Str(controllerRef, "kind") != "Deployment" || Obj.Str(controllerRef, "name") is not { } name) return null;
        var d = _deployments.Get(ns, name);
        return d is not null && Obj.Uid(d) == Obj.Str(controllerRef, "uid") ? d : null;
    }

    void OnReplicaSet(JsonObject? old, JsonObject? cur)
    {
        var rs = (cur ?? old)!;
        var ns = Meta.Namespace(rs);
        if (old is not null && Resolve(ns, Obj.ControllerRef(old)) is { } previous) _queue.Add(Informer.KeyOf(previous));
        if (cur is null) return;
        if (Resolve(ns, Obj.ControllerRef(cur)) is { } owner)
        {
            _queue.Add(Informer.KeyOf(owner));
            return;
        }
        if (Obj.ControllerRef(cur) is not null) return;
        // An orphan: every Deployment that selects it may adopt it.
        foreach (var d in _deployments.ByIndex(SharedInformers.ByNamespace, ns ?? ""))
        {
            var selector = LabelSelector.FromObject(Obj.Object(d, "spec", "selector"));
            if (!selector.IsEmpty && selector.Matches(Obj.Labels(cur))) _queue.Add(Informer.KeyOf(d));
        }
    }

    /// <summary>A Recreate rollout waits for old pods to be gone: their deletion wakes it.</summary>
    void OnPod(JsonObject? old, JsonObject? cur)
    {
        if (cur is not null || old is null) return;
        var ns = Meta.Namespace(old);
        if (Obj.ControllerRef(old) is not { } rsRef || Obj.Str(rsRef, "kind") != "ReplicaSet" || Obj.Str(rsRef, "name") is not { } rsName) return;
        if (_sets.Get(ns, rsName) is not { } rs || Obj.Uid(rs) != Obj.Str(rsRef, "uid")) return;
        if (Resolve(ns, Obj.ControllerRef(rs)) is { } d && !DeploymentUtil.IsRollingUpdate(d)) _queue.Add(Informer.KeyOf(d));
    }

    async Task SyncAsync(string key, CancellationToken ct)
    {
        if (_deployments.Get(key) is not { } cached) return;
        var d = Obj.Clone(cached);
        var selector = LabelSelector.FromObject(Obj.Object(d, "spec", "selector"));
        // Upstream's validation refuses a missing selector and one that does not select the template's labels; this
        // server stores such objects, and rolling one out would make ReplicaSets whose pods nothing selects.
        var templateLabels = Obj.Object(d, "spec", "template", "metadata", "labels");
        if (selector.IsEmpty || !selector.Matches(k => Obj.Str(templateLabels, k)))
        {
            if (selector.IsEmpty)
                _ctx.Events.Record(cached, EventRecorder.Warning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.", Component);
            if (Obj.Long(d, "status", "observedGeneration") != Obj.Long(d, "metadata", "generation"))
            {
                Obj.Ensure(d, "status")["observedGeneration"] = Obj.Long(d, "metadata", "generation");
                await SaveAsync(d, ct);
            }
            return;
        }
        var candidates = _sets.ByIndex(SharedInformers.ByNamespace, Meta.Namespace(d) ?? "");
        var sets = await new ControllerRefs(_ctx.Store, d, Deployments, selector).ClaimAsync(ReplicaSets, candidates, ct);
        if (Obj.IsDeleting(d))
        {
            await SyncStatusOnlyAsync(d, sets, ct);
            return;
        }
        await CheckPausedConditionsAsync(d, ct);
        if (Obj.Bool(d, "spec", "paused") == true || await IsScalingEventAsync(d, sets, ct))
        {
            await SyncAsync(d, sets, ct);
            return;
        }
        if (DeploymentUtil.IsRollingUpdate(d)) await RolloutRollingAsync(d, sets, ct);
        else await RolloutRecreateAsync(d, sets, ct);
    }

    /// <summary>
    /// Writes the Deployment's annotations (when changed) and then its status, each conditional on the resourceVersion
    /// <paramref name="d"/> was read at; <paramref name="d"/> then carries the new resourceVersion. Upstream does this
    /// in one status update (its status strategy keeps metadata); here status writes take only status.
    /// </summary>
    async Task SaveAsync(JsonObject d, CancellationToken ct)
    {
        var ns = Meta.Namespace(d);
        var name = Meta.Name(d)!;
        var rv = Meta.Str(d, "resourceVersion");
        var annotations = Obj.Object(d, "metadata", "annotations");
        var written = await _ctx.Store.UpdateAsync(Deployments, ns, name, cur =>
        {
            Meta.Of(cur)["resourceVersion"] = rv;
            if (annotations is null) Meta.Of(cur).Remove("annotations");
            else Meta.Of(cur)["annotations"] = annotations.DeepClone();
            return cur;
        }, false, ct);
        var status = Obj.Object(d, "status")?.DeepClone() ?? new JsonObject();
        if (!JsonNode.DeepEquals(status, Obj.At(written, "status")))
        {
            var afterMeta = Meta.Str(written, "resourceVersion");
            written = await _ctx.Store.UpdateAsync(Deployments, ns, name, cur =>
            {
                Meta.Of(cur)["resourceVersion"] = afterMeta;
                cur["status"] = status.DeepClone();
                return cur;
            }, statusOnly: true, ct);
        }
        Meta.Of(d)["resourceVersion"] = Meta.Str(written, "resourceVersion");
    }

    /// <summary>Writes <paramref name="rs"/> (a modified copy carrying the resourceVersion it was read at); returns it as stored.</summary>
    Task<JsonObject> UpdateReplicaSetAsync(JsonObject rs, CancellationToken ct) =>
        _ctx.Store.UpdateAsync(ReplicaSets, Meta.Namespace(rs), Meta.Name(rs)!, _ => rs.DeepClone().AsObject(), false, ct);
}
