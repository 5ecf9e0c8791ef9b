// Follows the stored CRDs on every server: serves the accepted ones, writes their status, and empties deleted ones.
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Api.CustomResources;

/// <summary>
/// apiextensions-apiserver's naming, establishing and finalizer controllers in one loop. It runs on every server (not
/// only the elected one), because each server's <see cref="CustomResourceRegistry"/> must follow the CRDs; the status
/// writes are idempotent (equal results are not written) and the cleanup tolerates objects another server deleted.
/// </summary>
public sealed class CustomResourceController(ObjectStore store, ILogger logger)
{
    /// <summary>The CustomResourceDefinition resource.</summary>
    public static readonly ApiResource Crds = ResourceTable.Find("apiextensions.k8s.io", "v1", "customresourcedefinitions")!;

    static readonly DeleteOptions Background = DeleteOptions.None with { PropagationPolicy = DeletePropagation.Background };

    readonly Informer _crds = new(store.Backend, Crds, logger);
    readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    readonly HashSet<string> _reported = [];
    Task _informer = Task.CompletedTask;

    /// <summary>Lists the stored CRDs and serves the accepted ones (before the server is ready); the watch runs until <paramref name="stopping"/>.</summary>
    public async Task StartAsync(CancellationToken stopping)
    {
        _crds.OnChange((_, _) => _wake.Writer.TryWrite(true));
        _informer = Task.Run(() => _crds.RunAsync(stopping), CancellationToken.None);
        await _crds.Synced.WaitAsync(stopping);
        Publish(CrdNaming.Decide(_crds.List()));
    }

    /// <summary>Reconciles after every CRD change (and every 2 s while a deleted CRD still has objects).</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        bool again = true;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (again)
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    timeout.CancelAfter(TimeSpan.FromSeconds(2));
                    try { await _wake.Reader.WaitToReadAsync(timeout.Token); } catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
                }
                else await _wake.Reader.WaitToReadAsync(ct);
                _wake.Reader.TryRead(out _);
                try { again = await ReconcileAsync(ct); }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    if (_reported.Add(e.Message)) logger.LogWarning("custom resource definitions: {Error}; retrying every 2 s", e.Message);
                    again = true;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        await _informer;
    }

    static void Publish(List<CrdNamingResult> results) =>
        CustomResourceRegistry.Publish(results.Where(r => r.Accepted).Select(r => (r.Crd, CustomResourceRegistry.IsTerminating(r.Object))));

    /// <summary>One pass over all CRDs; true when a deleted CRD still waits for its objects.</summary>
    async Task<bool> ReconcileAsync(CancellationToken ct)
    {
        var results = CrdNaming.Decide(_crds.List());
        Publish(results);
        bool again = false;
        foreach (var result in results)
        {
            string? failure = null;
            if (CustomResourceRegistry.IsTerminating(result.Object) && Meta.Finalizers(result.Object).Contains(CustomResourceDefinition.CleanupFinalizer))
            {
                try
                {
                    if (await DeleteObjectsAsync(result.Crd, ct))
                    {
                        await FinishAsync(result.Crd.Name, ct);
                        continue;
                    }
                }
                catch (ApiException e)
                {
                    failure = e.Message;
                }
                again = true;
            }
            var now = Meta.Time(store.Clock.GetUtcNow());
            if (JsonNode.DeepEquals(CrdNaming.Status(result, result.Object["status"] as JsonObject, now, failure), result.Object["status"])) continue;
            try
            {
                await store.UpdateAsync(Crds, null, result.Crd.Name, cur =>
                {
                    cur["status"] = CrdNaming.Status(result, cur["status"] as JsonObject, now, failure);
                    return cur;
                }, statusOnly: true, ct);
            }
            catch (ApiException e) when (e.Code == 404)
            {
            }
        }
        return again;
    }

    /// <summary>Deletes every object of <paramref name="crd"/>; true once none is left (objects with finalizers may stay a while).</summary>
    async Task<bool> DeleteObjectsAsync(CustomResourceDefinition crd, CancellationToken ct)
    {
        if (crd.StorageVersion is null) return true;
        var storage = CustomResourceRegistry.StorageRow(crd);
        var page = await store.ListAsync(storage, null, ListOptions.Everything, ct);
        foreach (var item in page.Items)
        {
            if (Meta.Str(item, "deletionTimestamp") is not null) continue;
            try { await store.DeleteAsync(storage, Meta.Namespace(item), Meta.Name(item)!, Background, ct); }
            catch (ApiException e) when (e.Code == 404) { }
        }
        return page.Items.Count == 0;
    }

    /// <summary>Drops the cleanup finalizer, which lets the store remove the CRD (and this controller then stops serving it).</summary>
    async Task FinishAsync(string name, CancellationToken ct)
    {
        try
        {
            await store.UpdateAsync(Crds, null, name, cur =>
            {
                DeletePropagation.SetFinalizers(cur, Meta.Finalizers(cur).Where(f => f != CustomResourceDefinition.CleanupFinalizer).ToList());
                return cur;
            }, statusOnly: false, ct);
            logger.LogInformation("custom resource definition {Name}: objects deleted, definition removed", name);
        }
        catch (ApiException e) when (e.Code == 404)
        {
        }
    }
}
