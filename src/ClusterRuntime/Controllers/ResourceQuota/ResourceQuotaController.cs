// Upstream's resourcequota controller: status.hard and status.used of every ResourceQuota, recounted from the store.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Quota;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.ResourceQuota;

/// <summary>
/// Keyed by namespace: for each ResourceQuota in it, <c>status.hard</c> = <c>spec.hard</c> and <c>status.used</c> =
/// the use of each hard name counted from the store (<see cref="QuotaUsage"/>), written only when it changed. A
/// namespace is synced when one of its quotas changes or when a pod, ConfigMap, Secret, Service or
/// PersistentVolumeClaim in it changes, and every namespace with quotas is recounted every 30 s (other counted types,
/// and charges of admitted creates that were never stored). Recounts hold the namespace's quota lock, so on this
/// server they never fall between an admitted create's charge and its store.
/// </summary>
public sealed class ResourceQuotaController : IController
{
    static readonly TimeSpan Resync = TimeSpan.FromSeconds(30);

    readonly ControllerContext _ctx;
    readonly Informer _quotas;
    readonly WorkQueue _queue;

    /// <summary>Registers the handlers.</summary>
    public ResourceQuotaController(ControllerContext ctx)
    {
        _ctx = ctx;
        var logger = ctx.Logger("ResourceQuota");
        _queue = new WorkQueue("resourcequota", logger, ctx.Clock);
        _quotas = ctx.Informers.For(Obj.Resource("", "resourcequotas"));
        _quotas.OnChange((old, cur) => _queue.Add(Meta.Namespace(cur ?? old!)!));
        void Watch(Informer informer) => informer.OnChange((old, cur) =>
        {
            var ns = Meta.Namespace(cur ?? old!)!;
            if (_quotas.List(ns).Count > 0) _queue.Add(ns);
        });
        Watch(ctx.Informers.For(Obj.Resource("", "pods")));
        foreach (var plural in new[] { "configmaps", "secrets", "services", "persistentvolumeclaims" })
            Watch(ctx.Informers.ForMetadata(Obj.Resource("", plural)));
    }

    /// <inheritdoc />
    public string Name => "resourcequota-controller";

    /// <inheritdoc />
    public Task RunAsync(CancellationToken ct) => Task.WhenAll(_queue.RunAsync(1, SyncAsync, ct), ResyncAsync(ct));

    async Task ResyncAsync(CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await Task.Delay(Resync, _ctx.Clock, ct);
                foreach (var ns in _quotas.List().Select(q => Meta.Namespace(q)!).Distinct()) _queue.Add(ns);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    async Task SyncAsync(string ns, CancellationToken ct)
    {
        // Not between an admitted create's charge and its store (which would undo the charge).
        using var held = await QuotaUsage.LockAsync(ns, ct);
        foreach (var quota in _quotas.List(ns))
        {
            var hard = quota["spec"]?["hard"] as JsonObject ?? [];
            var used = await QuotaUsage.InNamespaceAsync(_ctx.Store, ns, hard.Select(p => p.Key), ct);
            var status = new JsonObject
            {
                ["hard"] = hard.DeepClone(),
                ["used"] = new JsonObject(used.Select(u => KeyValuePair.Create(u.Key, (JsonNode?)QuotaUsage.Format(u.Key, u.Value)))),
            };
            if (JsonNode.DeepEquals(quota["status"], status)) continue;
            try
            {
                await _ctx.Store.UpdateAsync(Obj.Resource("", "resourcequotas"), ns, Meta.Name(quota)!, cur =>
                {
                    cur["status"] = status.DeepClone();
                    return cur;
                }, statusOnly: true, ct);
            }
            catch (ApiException e) when (e.Code == 404)
            {
            }
        }
    }
}
