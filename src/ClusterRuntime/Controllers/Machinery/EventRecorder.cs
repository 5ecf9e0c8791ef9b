// Writes core/v1 Events for controllers and the kubelet, counting repeats instead of writing duplicates.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.Machinery;

/// <summary>
/// <see cref="Record"/> never blocks a controller: events are queued and written by <see cref="RunAsync"/>. An event
/// is named after its object and a hash of (object uid, type, reason, message, component), so a repeat (also after a
/// restart) updates <c>count</c> and <c>lastTimestamp</c> of the existing Event instead of adding one, as client-go's
/// event correlator does. Events expire an hour after their last write (<see cref="ObjectStore.EventTtl"/>); a repeat
/// after that starts a new Event. Cluster-scoped objects' Events go to <c>default</c>. When more than 1,000 events
/// wait (a datastore that cannot keep up), new ones are dropped. The controllers write through the server's own
/// store (<see cref="StoreEventSink"/>), the kubelet through the API (<c>Agent/Client/ApiEventSink</c>).
/// </summary>
public sealed class EventRecorder(IEventSink sink, TimeProvider clock, string instance, ILogger logger)
{
    const int MaxQueued = 1000;

    readonly Channel<(JsonObject Involved, string Type, string Reason, string Message, string Component, string? FieldPath, DateTimeOffset At)> _queue =
        Channel.CreateBounded<(JsonObject, string, string, string, string, string?, DateTimeOffset)>(
            new BoundedChannelOptions(MaxQueued) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    /// <summary>Normal events.</summary>
    public const string Normal = "Normal";

    /// <summary>Warning events.</summary>
    public const string Warning = "Warning";

    /// <summary>
    /// Queues an event about <paramref name="involved"/> from <paramref name="component"/> (e.g. <c>deployment-controller</c>);
    /// <paramref name="fieldPath"/> names a part of it (the kubelet's <c>spec.containers{NAME}</c>).
    /// </summary>
    public void Record(JsonObject involved, string type, string reason, string message, string component, string? fieldPath = null) =>
        _queue.Writer.TryWrite((involved, type, reason, message, component, fieldPath, clock.GetUtcNow()));

    /// <summary>Writes queued events until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var e in _queue.Reader.ReadAllAsync(ct))
            {
                try { await WriteAsync(e.Involved, e.Type, e.Reason, e.Message, e.Component, e.FieldPath, e.At, ct); }
                catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
                catch (Exception ex) { logger.LogWarning("recording event {Reason} for {Name} failed: {Error}", e.Reason, Meta.Name(e.Involved), ex.Message); }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>The Event name for one (object, type, reason, message, component).</summary>
    public static string NameFor(JsonObject involved, string type, string reason, string message, string component, string? fieldPath = null)
    {
        var key = $"{Obj.Uid(involved)}\n{type}\n{reason}\n{message}\n{component}" + (fieldPath is null ? "" : "\n" + fieldPath);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        return $"{Meta.Name(involved)}.{Convert.ToHexStringLower(hash, 0, 8)}";
    }

    async Task WriteAsync(JsonObject involved, string type, string reason, string message, string component, string? fieldPath, DateTimeOffset at, CancellationToken ct)
    {
        var ns = Meta.Namespace(involved) is { Length: > 0 } n ? n : "default"; // cluster-scoped objects: default, as client-go
        var name = NameFor(involved, type, reason, message, component, fieldPath);
        var now = Obj.Time(at);
        // A repeat is an update of the existing Event (which also renews its TTL). The update is tried first: one
        // request for a repeat, and no window in which the Event expires between a read and the update.
        for (int attempt = 0; attempt < 3; attempt++)
        {
            if (await sink.RepeatAsync(ns, name, now, Meta.Str(involved, "resourceVersion"), ct) == EventWrite.Done) return;
            // Exists: another writer created it first; count this one on it.
            if (await sink.CreateAsync(ns, New(involved, type, reason, message, component, fieldPath, name, ns, now), ct) == EventWrite.Done) return;
        }
    }

    JsonObject New(JsonObject involved, string type, string reason, string message, string component, string? fieldPath, string name, string ns, string now)
    {
        var ev = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Event",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["involvedObject"] = new JsonObject
            {
                ["kind"] = involved["kind"]?.DeepClone(),
                ["namespace"] = Meta.Namespace(involved),
                ["name"] = Meta.Name(involved),
                ["uid"] = Obj.Uid(involved),
                ["apiVersion"] = involved["apiVersion"]?.DeepClone(),
                ["resourceVersion"] = Meta.Str(involved, "resourceVersion"),
            },
            ["reason"] = reason,
            ["message"] = message,
            ["source"] = new JsonObject { ["component"] = component },
            ["firstTimestamp"] = now,
            ["lastTimestamp"] = now,
            ["count"] = 1,
            ["type"] = type,
            ["reportingComponent"] = component,
            ["reportingInstance"] = instance,
        };
        if (fieldPath is not null) ev["involvedObject"]!["fieldPath"] = fieldPath;
        return ev;
    }
}

/// <summary>What an <see cref="IEventSink"/> call did.</summary>
public enum EventWrite
{
    /// <summary>Written, or nothing to write (the namespace is going away).</summary>
    Done,

    /// <summary>A repeat found no Event to count on.</summary>
    Missing,

    /// <summary>A create found the Event there already.</summary>
    Exists,
}

/// <summary>Where an <see cref="EventRecorder"/> writes Events.</summary>
public interface IEventSink
{
    /// <summary>
    /// Counts a repeat on Event <paramref name="ns"/>/<paramref name="name"/>: <c>count</c> + 1, <c>lastTimestamp</c>,
    /// <c>involvedObject.resourceVersion</c>; <see cref="EventWrite.Missing"/> when there is no such Event.
    /// </summary>
    Task<EventWrite> RepeatAsync(string ns, string name, string now, string? involvedResourceVersion, CancellationToken ct);

    /// <summary>Creates the Event; <see cref="EventWrite.Exists"/> when its name is taken.</summary>
    Task<EventWrite> CreateAsync(string ns, JsonObject ev, CancellationToken ct);

    /// <summary>The repeat's change to an Event, the same for every sink.</summary>
    public static JsonObject CountRepeat(JsonObject ev, string now, string? involvedResourceVersion)
    {
        ev["count"] = Obj.Int(ev, 1, "count") + 1;
        ev["lastTimestamp"] = now;
        Obj.Ensure(ev, "involvedObject")["resourceVersion"] = involvedResourceVersion;
        return ev;
    }
}

/// <summary>Events written through the server's own store (the controllers).</summary>
public sealed class StoreEventSink(ObjectStore store) : IEventSink
{
    static readonly ApiResource Events = Obj.Resource("", "events");

    /// <inheritdoc />
    public async Task<EventWrite> RepeatAsync(string ns, string name, string now, string? involvedResourceVersion, CancellationToken ct)
    {
        // The update is tried first: one request for a repeat, and no window in which the Event expires between a
        // read and the update.
        try
        {
            await store.UpdateAsync(Events, ns, name, cur => IEventSink.CountRepeat(cur, now, involvedResourceVersion), false, ct);
            return EventWrite.Done;
        }
        catch (ApiException e) when (e.Code == 404)
        {
            return EventWrite.Missing;
        }
    }

    /// <inheritdoc />
    public async Task<EventWrite> CreateAsync(string ns, JsonObject ev, CancellationToken ct)
    {
        try
        {
            await store.CreateAsync(Events, ns, ev, ct);
            return EventWrite.Done;
        }
        catch (ApiException e) when (e.Code == 409)
        {
            return EventWrite.Exists;
        }
        catch (ApiException e) when (e.Code is 403 or 404)
        {
            return EventWrite.Done; // the namespace is going away
        }
    }
}
