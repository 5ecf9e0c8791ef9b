// The writes of one endpoints sync, and the cache state they must show before the next sync of that Service.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Endpoints;

/// <summary>
/// Creates, updates (conditionally, on the cached resourceVersion) and deletes objects of one namespace, writing only
/// what differs in the compared fields, and remembers the newest revision written and the names deleted.
/// </summary>
public sealed class SliceWrites(ObjectStore store, string ns, SliceWrites.Record record, ApiResource? resource = null)
{
    /// <summary>What a sync wrote: the newest revision, and the names it deleted.</summary>
    public sealed class Record
    {
        /// <summary>The newest revision written.</summary>
        public long Revision { get; set; }
        /// <summary>Names deleted.</summary>
        public HashSet<string> Deleted { get; } = new(StringComparer.Ordinal);
        /// <summary>When the sync ended (an expectation not met within <see cref="SliceExpectations.GiveUpAfter"/> is dropped).</summary>
        public long At { get; set; } = Environment.TickCount64;
    }

    static readonly string[] Compared = ["addressType", "endpoints", "ports", "subsets"];
    readonly ApiResource _resource = resource ?? Obj.Resource("discovery.k8s.io", "endpointslices");

    /// <summary>What was written.</summary>
    public Record Written => record;

    /// <summary>Creates <paramref name="desired"/> when <paramref name="existing"/> is null, else updates it if it differs.</summary>
    public async Task PutAsync(JsonObject? existing, JsonObject desired, CancellationToken ct)
    {
        JsonObject written;
        if (existing is null)
        {
            written = await store.CreateAsync(_resource, ns, desired, ct);
        }
        else
        {
            if (Same(existing, desired)) return;
            written = await store.UpdateAsync(_resource, ns, Meta.Name(existing)!, cur =>
            {
                foreach (var field in Compared)
                {
                    if (desired.ContainsKey(field)) cur[field] = desired[field]?.DeepClone();
                    else cur.Remove(field);
                }
                var meta = Meta.Of(cur);
                meta["labels"] = desired["metadata"]!["labels"]!.DeepClone();
                if (desired["metadata"]!["ownerReferences"] is { } owners) meta["ownerReferences"] = owners.DeepClone();
                meta["resourceVersion"] = Meta.Str(existing, "resourceVersion");
                return cur;
            }, false, ct);
        }
        Note(written);
    }

    /// <summary>Deletes <paramref name="existing"/> (gone already is fine).</summary>
    public async Task DeleteAsync(JsonObject existing, CancellationToken ct)
    {
        try
        {
            await store.DeleteAsync(_resource, ns, Meta.Name(existing)!, new DeleteOptions(Obj.Uid(existing), null, null), ct);
            record.Deleted.Add(Meta.Name(existing)!);
        }
        catch (ApiException e) when (e.Code == 404) { }
    }

    void Note(JsonObject written)
    {
        if (long.TryParse(Meta.Str(written, "resourceVersion"), out var rev)) record.Revision = Math.Max(record.Revision, rev);
    }

    static bool Same(JsonObject existing, JsonObject desired) =>
        Compared.All(f => JsonNode.DeepEquals(existing[f], desired[f]))
        && JsonNode.DeepEquals(Obj.At(existing, "metadata", "labels"), Obj.At(desired, "metadata", "labels"))
        && (Obj.At(desired, "metadata", "ownerReferences") is not { } owners || JsonNode.DeepEquals(Obj.At(existing, "metadata", "ownerReferences"), owners));
}

/// <summary>
/// Per Service, what its last sync wrote; the next sync waits until the informer shows it (upstream's endpoint slice
/// tracker), so a slice just created is never created twice from a stale cache.
/// </summary>
public sealed class SliceExpectations
{
    /// <summary>How long a sync waits for the cache to show the previous sync's writes before it goes on regardless.</summary>
    public static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(10);

    readonly Dictionary<string, SliceWrites.Record> _pending = new(StringComparer.Ordinal);

    /// <summary>A fresh record for a sync of <paramref name="key"/>.</summary>
    public SliceWrites.Record Start(string key) => new();

    /// <summary>Keeps what the sync wrote.</summary>
    public void Finish(string key, SliceWrites writes)
    {
        if (writes.Written.Revision == 0 && writes.Written.Deleted.Count == 0) return;
        writes.Written.At = Environment.TickCount64;
        lock (_pending) _pending[key] = writes.Written;
    }

    /// <summary>True when <paramref name="informer"/> shows everything the last sync of <paramref name="key"/> wrote.</summary>
    public bool Satisfied(string key, Informer informer)
    {
        SliceWrites.Record? record;
        lock (_pending) if (!_pending.TryGetValue(key, out record)) return true;
        var ns = Informer.SplitKey(key).Namespace;
        var waiting = informer.Revision < record.Revision || record.Deleted.Any(n => informer.Get(ns, n) is not null);
        if (waiting && Environment.TickCount64 - record.At < (long)GiveUpAfter.TotalMilliseconds) return false;
        lock (_pending) _pending.Remove(key);
        return true;
    }
}
