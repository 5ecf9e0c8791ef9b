// A shared informer: one list+watch of a resource type, kept as a local cache, with change handlers and indexes.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Datastore;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.Machinery;

/// <summary>
/// Lists a resource type once, then follows the datastore's watch, keeping every object in memory (as client-go's
/// shared informer does). Handlers run on the informer's own loop, in revision order, and must only queue work.
/// Cached objects are shared by every controller: never modify one; <see cref="Obj.Clone"/> it first.
/// A metadata-only informer (<paramref name="metadataOnly"/>) keeps just kind, apiVersion and metadata of each object,
/// as upstream's metadata informers, for controllers that follow every type (the garbage collector).
/// </summary>
public sealed class Informer(IBackend backend, ApiResource resource, ILogger logger, bool metadataOnly = false)
{
    readonly object _gate = new();
    Dictionary<string, JsonObject> _items = new(StringComparer.Ordinal);
    readonly List<Action<JsonObject?, JsonObject?>> _handlers = [];
    readonly Dictionary<string, Index> _indexes = new(StringComparer.Ordinal);
    readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    sealed record Index(Func<JsonObject, IEnumerable<string>> KeysOf, Dictionary<string, HashSet<string>> Map);

    /// <summary>The resource this informer follows.</summary>
    public ApiResource Resource => resource;

    /// <summary>Completes once the first list is in the cache.</summary>
    public Task Synced => _synced.Task;

    /// <summary>The newest revision applied to the cache.</summary>
    public long Revision { get; private set; }

    /// <summary>The cache key of an object: <c>namespace/name</c>, or <c>name</c> for cluster-scoped types.</summary>
    public static string KeyOf(JsonObject obj) => KeyOf(Meta.Namespace(obj), Meta.Name(obj) ?? "");

    /// <summary>The cache key of a namespace and name.</summary>
    public static string KeyOf(string? ns, string name) => string.IsNullOrEmpty(ns) ? name : ns + "/" + name;

    /// <summary>Splits a cache key into namespace (null when cluster-scoped) and name.</summary>
    public static (string? Namespace, string Name) SplitKey(string key)
    {
        var slash = key.IndexOf('/');
        return slash < 0 ? (null, key) : (key[..slash], key[(slash + 1)..]);
    }

    /// <summary>
    /// Registers a handler called with (old, new) for every change: (null, obj) added, (old, obj) updated,
    /// (old, null) deleted. Register before <see cref="RunAsync"/>; the initial list arrives as additions.
    /// </summary>
    public void OnChange(Action<JsonObject?, JsonObject?> handler)
    {
        lock (_gate) _handlers.Add(handler);
    }

    /// <summary>Adds a named index: <paramref name="keysOf"/> gives the index values of an object.</summary>
    public void AddIndex(string name, Func<JsonObject, IEnumerable<string>> keysOf)
    {
        lock (_gate)
        {
            if (_indexes.ContainsKey(name)) return;
            var index = new Index(keysOf, new Dictionary<string, HashSet<string>>(StringComparer.Ordinal));
            foreach (var (key, obj) in _items) AddToIndex(index, key, obj);
            _indexes[name] = index;
        }
    }

    /// <summary>One object, or null.</summary>
    public JsonObject? Get(string? ns, string name)
    {
        lock (_gate) return _items.GetValueOrDefault(KeyOf(ns, name));
    }

    /// <summary>One object by cache key, or null.</summary>
    public JsonObject? Get(string key)
    {
        lock (_gate) return _items.GetValueOrDefault(key);
    }

    /// <summary>All objects, or those of one namespace.</summary>
    public List<JsonObject> List(string? ns = null)
    {
        lock (_gate)
            return ns is null ? [.. _items.Values] : _items.Values.Where(o => Meta.Namespace(o) == ns).ToList();
    }

    /// <summary>The objects whose index <paramref name="index"/> holds <paramref name="value"/>.</summary>
    public List<JsonObject> ByIndex(string index, string value)
    {
        lock (_gate)
        {
            if (!_indexes.TryGetValue(index, out var ix)) throw new InvalidOperationException($"no index {index} on {resource.GroupResource}");
            return ix.Map.TryGetValue(value, out var keys) ? keys.Select(k => _items[k]).ToList() : [];
        }
    }

    /// <summary>Lists, then watches, until <paramref name="ct"/> is cancelled; relists after compaction or a failure.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var prefix = resource.KeyPrefix;
        string? lastFailure = null;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var listed = await ListAllAsync(prefix, ct);
                Replace(listed.Items, listed.Revision);
                _synced.TrySetResult();
                lastFailure = null;
                await foreach (var ev in backend.WatchAsync(prefix, Revision, ct).WithCancellation(ct))
                    Apply(ev);
                return; // the backend was disposed
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (CompactedException)
            {
                logger.LogDebug("informer {Resource}: watch revision compacted; relisting", resource.GroupResource);
            }
            catch (Exception e)
            {
                if (e.Message != lastFailure) logger.LogWarning("informer {Resource}: {Error}; relisting in 1 s", resource.GroupResource, e.Message);
                lastFailure = e.Message;
                try { await Task.Delay(TimeSpan.FromSeconds(1), ct); } catch (OperationCanceledException) { return; }
            }
        }
    }

    async Task<(long Revision, List<KeyValue> Items)> ListAllAsync(string prefix, CancellationToken ct)
    {
        var items = new List<KeyValue>();
        long revision = 0;
        var start = "";
        while (true)
        {
            var page = await backend.ListAsync(prefix, start, 500, revision, ct);
            revision = page.Revision;
            items.AddRange(page.Items);
            if (!page.More || page.Items.Count == 0) return (revision, items);
            start = page.Items[^1].Key + "\0";
        }
    }

    void Replace(List<KeyValue> listed, long revision)
    {
        var fresh = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var kv in listed)
        {
            var obj = TryDecode(kv);
            if (obj is not null) fresh[KeyOf(obj)] = obj;
        }
        var changes = new List<(JsonObject?, JsonObject?)>();
        lock (_gate)
        {
            foreach (var (key, obj) in fresh)
            {
                var old = _items.GetValueOrDefault(key);
                if (old is null || Meta.Str(old, "resourceVersion") != Meta.Str(obj, "resourceVersion")) changes.Add((old, obj));
            }
            foreach (var (key, old) in _items)
                if (!fresh.ContainsKey(key)) changes.Add((old, null));
            _items = fresh;
            foreach (var index in _indexes.Values)
            {
                index.Map.Clear();
                foreach (var (key, obj) in fresh) AddToIndex(index, key, obj);
            }
            Revision = revision;
        }
        Notify(changes);
    }

    void Apply(WatchEvent ev)
    {
        var obj = TryDecode(ev.Kv);
        (JsonObject?, JsonObject?) change;
        lock (_gate)
        {
            Revision = ev.Kv.ModRevision;
            if (obj is null) return;
            var key = KeyOf(obj);
            var old = _items.GetValueOrDefault(key);
            if (old is not null) foreach (var index in _indexes.Values) RemoveFromIndex(index, key, old);
            if (ev.Type == WatchEventType.Delete)
            {
                _items.Remove(key);
                if (old is null) return;
                change = (old, null);
            }
            else
            {
                _items[key] = obj;
                foreach (var index in _indexes.Values) AddToIndex(index, key, obj);
                change = (old, obj);
            }
        }
        Notify([change]);
    }

    void Notify(List<(JsonObject?, JsonObject?)> changes)
    {
        Action<JsonObject?, JsonObject?>[] handlers;
        lock (_gate) handlers = [.. _handlers];
        foreach (var (old, cur) in changes)
            foreach (var handler in handlers)
            {
                try { handler(old, cur); }
                catch (Exception e) { logger.LogError(e, "informer {Resource}: a change handler failed", resource.GroupResource); }
            }
    }

    /// <summary>True when only kind, apiVersion and metadata are cached.</summary>
    public bool MetadataOnly => metadataOnly;

    JsonObject? TryDecode(KeyValue kv)
    {
        try
        {
            return metadataOnly ? DecodeMetadata(kv) : ObjectStore.Decode(kv);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidCastException or InvalidOperationException)
        {
            logger.LogWarning("informer {Resource}: {Key} does not hold a JSON object ({Error}); ignored", resource.GroupResource, kv.Key, e.Message);
            return null;
        }
    }

    /// <summary>
    /// Kind, apiVersion and metadata of a stored object, read without materializing the rest (a large ConfigMap's
    /// data is skipped over, not copied), with its resourceVersion stamped as <see cref="ObjectStore.Decode"/> does.
    /// </summary>
    static JsonObject DecodeMetadata(KeyValue kv)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(kv.Value);
        var result = new JsonObject();
        foreach (var field in (ReadOnlySpan<string>)["kind", "apiVersion", "metadata"])
            if (doc.RootElement.TryGetProperty(field, out var value)) result[field] = JsonNode.Parse(value.GetRawText());
        Meta.Of(result)["resourceVersion"] = kv.ModRevision.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return result;
    }

    static void AddToIndex(Index index, string key, JsonObject obj)
    {
        foreach (var value in index.KeysOf(obj))
        {
            if (!index.Map.TryGetValue(value, out var keys)) index.Map[value] = keys = new HashSet<string>(StringComparer.Ordinal);
            keys.Add(key);
        }
    }

    static void RemoveFromIndex(Index index, string key, JsonObject obj)
    {
        foreach (var value in index.KeysOf(obj))
            if (index.Map.TryGetValue(value, out var keys) && keys.Remove(key) && keys.Count == 0) index.Map.Remove(value);
    }
}
