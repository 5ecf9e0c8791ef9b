// The shared core of controllers that keep one named object in every namespace (a ServiceAccount, a ConfigMap).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.ServiceAccounts;

/// <summary>
/// Keeps the object <c>name</c> of <c>resource</c> in every active namespace: made when a namespace appears, made
/// again when deleted, and (when <see cref="Repair"/> says so) put back when changed. Terminating namespaces are
/// left alone, as their objects are being deleted. The work queue is keyed by namespace.
/// </summary>
public abstract class PerNamespaceObject : IController
{
    readonly ControllerContext _ctx;
    readonly ApiResource _resource;
    readonly string _objectName;
    readonly Informer _namespaces;
    readonly Informer _objects;
    readonly WorkQueue _queue;
    readonly ILogger _logger;

    /// <summary>Watches namespaces and the objects named <paramref name="objectName"/>.</summary>
    protected PerNamespaceObject(ControllerContext ctx, string logName, ApiResource resource, string objectName)
    {
        (_ctx, _resource, _objectName) = (ctx, resource, objectName);
        _logger = ctx.Logger(logName);
        _queue = new WorkQueue(logName, _logger, ctx.Clock);
        _namespaces = ctx.Informers.For(ResourceTable.Namespaces);
        // Metadata only: the ConfigMap informer would otherwise hold every ConfigMap of the cluster in full (the
        // garbage collector's metadata informer is the same one); the object itself is read when it is synced.
        _objects = ctx.Informers.ForMetadata(resource);
        _namespaces.OnChange((_, cur) => { if (cur is not null) _queue.Add(Meta.Name(cur)!); });
        _objects.OnChange((old, cur) =>
        {
            var obj = cur ?? old!;
            if (Meta.Name(obj) == objectName) _queue.Add(Meta.Namespace(obj)!);
        });
    }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <summary>The object to create in <paramref name="ns"/>.</summary>
    protected abstract JsonObject Make(string ns);

    /// <summary>False when the controller has nothing to publish (it then does nothing).</summary>
    protected virtual bool Enabled => true;

    /// <summary>The existing object (read from the store, free to change) set right, or null when it is fine as it is.</summary>
    protected virtual JsonObject? Repair(JsonObject existing) => null;

    /// <inheritdoc />
    public Task RunAsync(CancellationToken ct) => _queue.RunAsync(1, SyncAsync, ct);

    async Task SyncAsync(string ns, CancellationToken ct)
    {
        if (!Enabled) return;
        if (_namespaces.Get(ns) is not { } namespaceObj || Obj.IsDeleting(namespaceObj) || Obj.Str(namespaceObj, "status", "phase") == "Terminating") return;
        try
        {
            var (_, existing) = _objects.Get(ns, _objectName) is null ? (null, null) : await _ctx.Store.TryGetAsync(_resource, ns, _objectName, ct);
            if (existing is null)
            {
                await _ctx.Store.CreateAsync(_resource, ns, Make(ns), ct);
                _logger.LogDebug("created {Resource} {Namespace}/{Name}", _resource.Plural, ns, _objectName);
            }
            else if (Repair(existing) is { } repaired)
                await _ctx.Store.UpdateAsync(_resource, ns, _objectName, _ => repaired, false, ct);
        }
        // The cache was behind (it exists already, or changed since), or the namespace began terminating: the next event settles it.
        catch (ApiException e) when (e.Code is 409 or 403 or 404)
        {
        }
    }
}
