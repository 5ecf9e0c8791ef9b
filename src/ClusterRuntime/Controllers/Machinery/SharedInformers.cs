// One informer per resource type, shared by every controller of a leadership term.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Datastore;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.Machinery;

/// <summary>
/// Hands out one <see cref="Informer"/> per resource (created on first ask), with the indexes controllers share
/// (<see cref="ByOwner"/>, <see cref="ByNode"/>). Controllers ask for their informers in their constructors;
/// <see cref="RunAsync"/> then starts them all.
/// </summary>
public sealed class SharedInformers(IBackend backend, ILogger logger)
{
    /// <summary>Index of objects by the uid of each owner reference.</summary>
    public const string ByOwner = "owner-uid";

    /// <summary>Index of pods by <c>spec.nodeName</c> (unbound pods under "").</summary>
    public const string ByNode = "node";

    /// <summary>Index of objects by namespace.</summary>
    public const string ByNamespace = "namespace";

    readonly Dictionary<(ApiResource, bool MetadataOnly), Informer> _informers = [];
    readonly List<Task> _running = [];
    CancellationToken _token;
    bool _started;

    /// <summary>The informer of <paramref name="resource"/>.</summary>
    public Informer For(ApiResource resource) => For(resource, metadataOnly: false);

    /// <summary>
    /// The metadata-only informer of <paramref name="resource"/> (kind, apiVersion and metadata cached): for following
    /// every type without holding every object's data in memory. It is a watch of its own, beside a full informer.
    /// </summary>
    public Informer ForMetadata(ApiResource resource) => For(resource, metadataOnly: true);

    Informer For(ApiResource resource, bool metadataOnly)
    {
        lock (_informers)
        {
            if (_informers.TryGetValue((resource, metadataOnly), out var informer)) return informer;
            informer = new Informer(backend, resource, logger, metadataOnly);
            informer.AddIndex(ByOwner, OwnerUids);
            if (resource.Namespaced) informer.AddIndex(ByNamespace, o => [Meta.Namespace(o) ?? ""]);
            if (!metadataOnly && resource.Kind == "Pod" && resource.Group.Length == 0) informer.AddIndex(ByNode, o => [Obj.Str(o, "spec", "nodeName") ?? ""]);
            _informers[(resource, metadataOnly)] = informer;
            if (_started) _running.Add(Task.Run(() => informer.RunAsync(_token), CancellationToken.None));
            return informer;
        }
    }

    /// <summary>The informer of the core/v1 or group resource named by its plural, e.g. <c>("apps", "deployments")</c>.</summary>
    public Informer For(string group, string plural) =>
        For(ResourceTable.Resources.First(r => r.Group == group && r.Plural == plural));

    /// <summary>Starts every informer (also those asked for later) and completes when all stop.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        lock (_informers)
        {
            _token = ct;
            _started = true;
            foreach (var informer in _informers.Values) _running.Add(Task.Run(() => informer.RunAsync(ct), CancellationToken.None));
        }
        try { await Task.Delay(Timeout.Infinite, ct); } catch (OperationCanceledException) { }
        Task[] all;
        lock (_informers) all = [.. _running];
        await Task.WhenAll(all);
    }

    /// <summary>Completes when every informer created so far has its first list.</summary>
    public Task WaitForSyncAsync(CancellationToken ct)
    {
        Task[] synced;
        lock (_informers) synced = _informers.Values.Select(i => i.Synced).ToArray();
        return Task.WhenAll(synced).WaitAsync(ct);
    }

    static IEnumerable<string> OwnerUids(JsonObject obj) =>
        obj["metadata"]?["ownerReferences"] is JsonArray refs
            ? refs.OfType<JsonObject>().Select(r => Obj.Str(r, "uid")).OfType<string>()
            : [];
}
