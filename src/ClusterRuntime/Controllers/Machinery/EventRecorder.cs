// Writes core/v1 Events for controllers, counting repeats instead of writing duplicates.
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
/// wait (a datastore that cannot keep up), new ones are dropped.
/// </summary>
public sealed class EventRecorder(ObjectStore store, string instance, ILogger logger)
{
    const int MaxQueued = 1000;
    static readonly ApiResource Events = Obj.Resource("", "events");

    readonly Channel<(JsonObject Involved, string Type, string Reason, string Message, string Component, DateTimeOffset At)> _queue =
        Channel.CreateBounded<(JsonObject, string, string, string, string, DateTimeOffset)>(
            new BoundedChannelOptions(MaxQueued) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    /// <summary>Normal events.</summary>
    public const string Normal = "Normal";

    /// <summary>Warning events.</summary>
    public const string Warning = "Warning";

    /// <summary>Queues an event about <paramref name="involved"/> from <paramref name="component"/> (e.g. <c>deployment-controller</c>).</summary>
    public void Record(JsonObject involved, string type, string reason, string message, string component) =>
        _queue.Writer.TryWrite((involved, type, reason, message, component, store.Clock.GetUtcNow()));

    /// <summary>Writes queued events until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var e in _queue.Reader.ReadAllAsync(ct))
            {
                try { await WriteAsync(e.Involved, e.Type, e.Reason, e.Message, e.Component, e.At, ct); }
                catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
                catch (ApiException ex) when (ex.Code is 403 or 404) { } // the namespace is going away
                catch (Exception ex) { logger.LogWarning("recording event {Reason} for {Name} failed: {Error}", e.Reason, Meta.Name(e.Involved), ex.Message); }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>The Event name for one (object, type, reason, message, component).</summary>
    public static string NameFor(JsonObject involved, string type, string reason, string message, string component)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{Obj.Uid(involved)}\n{type}\n{reason}\n{message}\n{component}"));
        return $"{Meta.Name(involved)}.{Convert.ToHexStringLower(hash, 0, 8)}";
    }

    async Task WriteAsync(JsonObject involved, string type, string reason, string message, string component, DateTimeOffset at, CancellationToken ct)
    {
        var ns = Meta.Namespace(involved) is { Length: > 0 } n ? n : "default"; // cluster-scoped objects: default, as client-go
        var name = NameFor(involved, type, reason, message, component);
        var now = Obj.Time(at);
        // A repeat is an update of the existing Event (which also renews its TTL). The update is tried first: one
        // request for a repeat, and no window in which the Event expires between a read and the update.
        for (int attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                await store.UpdateAsync(Events, ns, name, cur =>
                {
                    cur["count"] = Obj.Int(cur, 1, "count") + 1;
                    cur["lastTimestamp"] = now;
                    Obj.Ensure(cur, "involvedObject")["resourceVersion"] = Meta.Str(involved, "resourceVersion");
                    return cur;
                }, false, ct);
                return;
            }
            catch (ApiException e) when (e.Code == 404)
            {
            }
            try
            {
                await store.CreateAsync(Events, ns, New(involved, type, reason, message, component, name, ns, now), ct);
                return;
            }
            catch (ApiException e) when (e.Code == 409)
            {
                // another writer created it first: count this one on it
            }
        }
    }

    JsonObject New(JsonObject involved, string type, string reason, string message, string component, string name, string ns, string now)
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
        return ev;
    }
}
