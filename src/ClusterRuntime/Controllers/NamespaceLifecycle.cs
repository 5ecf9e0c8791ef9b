// Creates the system namespaces and empties terminating namespaces before removing them.
using System.Threading.Channels;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers;

/// <summary>
/// Namespace deletion: the DELETE marks the namespace Terminating; this loop deletes every namespaced object in it
/// (propagation Background), waits for objects held by finalizers, then drops the <c>kubernetes</c> finalizer, which
/// removes the namespace (once the garbage collector has handled any <c>orphan</c> or <c>foregroundDeletion</c> finalizer on it).
/// </summary>
public sealed class NamespaceLifecycle(ObjectStore store, ILogger logger)
{
    /// <summary>Namespaces every cluster has.</summary>
    public static readonly string[] SystemNamespaces = ["default", "kube-system", "kube-public", "kube-node-lease"];

    /// <summary>
    /// As upstream's namespace deleter: dependents go by the garbage collector in the background, and an object in a
    /// foreground deletion is deleted at once rather than after its dependents (which go with the namespace anyway).
    /// </summary>
    static readonly DeleteOptions Background = DeleteOptions.None with { PropagationPolicy = DeletePropagation.Background };

    readonly Channel<string> _queue = Channel.CreateUnbounded<string>();

    /// <summary>Failures already logged (namespace + message); touched only by the <see cref="RunAsync"/> loop.</summary>
    readonly HashSet<string> _reported = [];

    /// <summary>Creates missing system namespaces and queues namespaces that were terminating at shutdown.</summary>
    public async Task BootstrapAsync(CancellationToken ct)
    {
        var ns = ResourceTable.Namespaces;
        foreach (var name in SystemNamespaces)
        {
            var (kv, _) = await store.TryGetAsync(ns, null, name, ct);
            if (kv is not null) continue;
            try
            {
                var obj = new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = name } };
                await store.CreateAsync(ns, null, obj, ct);
            }
            catch (ApiException e) when (e.Code == 409)
            {
            }
        }
        store.NamespaceTerminating += name => _queue.Writer.TryWrite(name);
        var all = await store.ListAsync(ns, null, ListOptions.Everything, ct);
        foreach (var item in all.Items)
            if (Meta.Str(item, "deletionTimestamp") is not null) _queue.Writer.TryWrite(Meta.Name(item)!);
    }

    /// <summary>Processes terminating namespaces until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        await foreach (var name in _queue.Reader.ReadAllAsync(ct))
        {
            try
            {
                if (!await FinalizeAsync(name, ct))
                {
                    _ = Task.Delay(TimeSpan.FromSeconds(1), ct).ContinueWith(_ => _queue.Writer.TryWrite(name), TaskScheduler.Default);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // One line per distinct failure; the stack trace only at debug level, so a lasting fault does not flood the log.
                if (_reported.Add($"{name}\n{e.Message}")) logger.LogWarning("finalizing namespace {Namespace} failed: {Error}; retrying every 2 s", name, e.Message);
                logger.LogDebug(e, "finalizing namespace {Namespace} failed", name);
                _ = Task.Delay(TimeSpan.FromSeconds(2), ct).ContinueWith(_ => _queue.Writer.TryWrite(name), TaskScheduler.Default);
            }
        }
    }

    /// <summary>One pass; true when the namespace is gone (or was never there).</summary>
    async Task<bool> FinalizeAsync(string name, CancellationToken ct)
    {
        int remaining = 0;
        var everything = ListOptions.Everything;
        foreach (var r in ResourceTable.Stored.Where(r => r.Namespaced))
        {
            var page = await store.ListAsync(r, name, everything, ct);
            foreach (var item in page.Items)
            {
                var itemName = Meta.Name(item);
                try
                {
                    if (itemName is null) throw new InvalidDataException($"a stored {r.Kind} has no metadata.name");
                    var (_, deleted) = await store.DeleteAsync(r, name, itemName, Background, ct);
                    if (!deleted) remaining++;
                }
                catch (ApiException e) when (e.Code == 404)
                {
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // One object that cannot be deleted holds the namespace, not the other objects in it.
                    if (_reported.Add($"{name}\n{r.Plural}/{itemName}\n{e.Message}"))
                        logger.LogWarning("namespace {Namespace}: deleting {Resource} {Name} failed: {Error}; retrying", name, r.GroupResource, itemName, e.Message);
                    remaining++;
                }
            }
        }
        if (remaining > 0) return false;
        try
        {
            await store.UpdateAsync(ResourceTable.Namespaces, null, name, cur =>
            {
                if (cur["spec"] is System.Text.Json.Nodes.JsonObject spec) spec.Remove("finalizers");
                return cur;
            }, false, ct);
        }
        catch (ApiException e) when (e.Code == 404)
        {
            return true;
        }
        var (kv, _) = await store.TryGetAsync(ResourceTable.Namespaces, null, name, ct);
        if (kv is null) _reported.RemoveWhere(k => k.StartsWith(name + "\n", StringComparison.Ordinal));
        return kv is null;
    }
}
