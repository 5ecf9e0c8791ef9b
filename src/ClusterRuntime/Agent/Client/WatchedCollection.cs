// A live copy of one API collection kept by a ListWatch: the newest version of each object, and a signal on change.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Client;

/// <summary>
/// The objects of one collection as the API last said, keyed by namespace and name. <see cref="Changed"/> is raised
/// after every list and event (on the watch's thread): consumers that rebuild something whole from
/// <see cref="Items"/> coalesce the signals themselves (<see cref="ChangeSignal"/>).
/// </summary>
internal sealed class WatchedCollection(ApiClient api, string collection, ILogger logger, string? query = null)
{
    readonly Dictionary<string, JsonObject> _items = [];
    readonly TaskCompletionSource _listed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Raised after the copy changed.</summary>
    public event Action? Changed;

    /// <summary>Completes after the first full list.</summary>
    public Task Listed => _listed.Task;

    /// <summary>A snapshot of the objects, ordered by namespace and name.</summary>
    public IReadOnlyList<JsonObject> Items()
    {
        lock (_items) return [.. _items.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Value)];
    }

    /// <summary>Keeps the copy until <paramref name="ct"/> ends.</summary>
    public Task RunAsync(CancellationToken ct) => new ListWatch(api, collection, query, $"watch of {collection}", logger).RunAsync(OnList, OnEvent, ct);

    static string Key(JsonObject obj) => $"{Meta.Namespace(obj)}/{Meta.Name(obj)}";

    void OnList(IReadOnlyList<JsonObject> items)
    {
        lock (_items)
        {
            _items.Clear();
            foreach (var item in items) _items[Key(item)] = item;
        }
        _listed.TrySetResult();
        Changed?.Invoke();
    }

    void OnEvent(string type, JsonObject obj)
    {
        lock (_items)
        {
            if (type == "DELETED") _items.Remove(Key(obj));
            else _items[Key(obj)] = obj;
        }
        Changed?.Invoke();
    }
}

/// <summary>
/// The cluster-wide objects a node's networking follows (Services, EndpointSlices, Nodes), each a
/// <see cref="WatchedCollection"/>, run together and shared by the DNS server, the routes and the Service proxy.
/// </summary>
internal sealed class WatchedObjects(ApiClient api, ILogger logger)
{
    /// <summary>All Services.</summary>
    public WatchedCollection Services { get; } = new(api, "/api/v1/services", logger);

    /// <summary>All EndpointSlices.</summary>
    public WatchedCollection EndpointSlices { get; } = new(api, "/apis/discovery.k8s.io/v1/endpointslices", logger);

    /// <summary>All Nodes.</summary>
    public WatchedCollection Nodes { get; } = new(api, "/api/v1/nodes", logger);

    /// <summary>Raised after any of them changed.</summary>
    public event Action? Changed
    {
        add { Services.Changed += value; EndpointSlices.Changed += value; Nodes.Changed += value; }
        remove { Services.Changed -= value; EndpointSlices.Changed -= value; Nodes.Changed -= value; }
    }

    /// <summary>Completes once each has been listed.</summary>
    public Task Listed => Task.WhenAll(Services.Listed, EndpointSlices.Listed, Nodes.Listed);

    /// <summary>Keeps all three until <paramref name="ct"/> ends.</summary>
    public Task RunAsync(CancellationToken ct) => Task.WhenAll(Services.RunAsync(ct), EndpointSlices.RunAsync(ct), Nodes.RunAsync(ct));
}

/// <summary>
/// Coalesces change signals: <see cref="WaitAsync(TimeSpan, CancellationToken)"/> returns once after any number of <see cref="Set"/> calls, so a
/// rebuild runs at most once per burst of watch events.
/// </summary>
internal sealed class ChangeSignal
{
    readonly SemaphoreSlim _pending = new(0, 1);

    /// <summary>Marks a change (idempotent until the next wait returns).</summary>
    public void Set()
    {
        try { _pending.Release(); }
        catch (SemaphoreFullException) { }
    }

    /// <summary>Waits for a change, then lets <paramref name="settle"/> pass so the rest of a burst is folded in.</summary>
    public async Task WaitAsync(TimeSpan settle, CancellationToken ct)
    {
        await _pending.WaitAsync(ct);
        if (settle > TimeSpan.Zero) await Task.Delay(settle, ct);
        // Changes during the settle time are part of this rebuild.
        _pending.Wait(0);
    }

    /// <summary>
    /// <see cref="WaitAsync(TimeSpan, CancellationToken)"/> for a loop that also checks again periodically: true after a
    /// change (and <paramref name="settle"/>), false when <paramref name="recheck"/> passed with none.
    /// </summary>
    public async Task<bool> WaitAsync(TimeSpan settle, TimeSpan recheck, CancellationToken ct)
    {
        using var tick = CancellationTokenSource.CreateLinkedTokenSource(ct);
        tick.CancelAfter(recheck);
        try
        {
            await WaitAsync(settle, tick.Token);
            return true;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return false; }
    }
}
