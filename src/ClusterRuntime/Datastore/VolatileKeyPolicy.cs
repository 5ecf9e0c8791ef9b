// Decides which updates are high-churn heartbeats that may be held in memory instead of written to flash at once.
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Datastore;

/// <summary>
/// Which updates count as "volatile": Lease renewals (nodes' and the servers' endpoint keys) and node status updates that only move heartbeat
/// timestamps. A volatile update gets its revision from the global counter and is visible to reads and watches
/// at once, but reaches disk only at the next coalesced flush (see Datastore/README.md for the exact guarantee).
/// Creates and deletes are never volatile.
/// </summary>
public sealed class VolatileKeyPolicy
{
    /// <summary>The default: Lease objects, and heartbeat-only changes of Node objects.</summary>
    public static VolatileKeyPolicy Default { get; } = new();

    /// <summary>
    /// Every update under these prefixes is volatile: Lease renewals, and each server's renewal of its own
    /// <c>kubernetes</c> endpoint key (<c>/registry/masterleases/</c>, every 10 s; Controllers/KubernetesService).
    /// </summary>
    public IReadOnlyList<string> Prefixes { get; init; } = ["/registry/leases/", "/registry/masterleases/"];

    /// <summary>Under these prefixes, an update is volatile only when it changes nothing but heartbeat fields.</summary>
    public IReadOnlyList<string> HeartbeatPrefixes { get; init; } = ["/registry/minions/", "/registry/nodes/"];

    /// <summary>True when the update of <paramref name="key"/> from <paramref name="oldValue"/> to <paramref name="newValue"/> may be coalesced.</summary>
    public bool IsVolatileUpdate(string key, byte[] oldValue, byte[] newValue)
    {
        foreach (var p in Prefixes)
            if (KeyRange.Matches(key, p)) return true;
        foreach (var p in HeartbeatPrefixes)
            if (KeyRange.Matches(key, p)) return IsHeartbeatOnly(oldValue, newValue);
        return false;
    }

    /// <summary>
    /// True when two Node JSON documents differ only in <c>metadata.resourceVersion</c>, <c>metadata.managedFields</c>
    /// and <c>status.conditions[*].lastHeartbeatTime</c>. Anything unparsable is treated as a real change.
    /// </summary>
    public static bool IsHeartbeatOnly(byte[] oldValue, byte[] newValue)
    {
        try
        {
            var a = JsonNode.Parse(oldValue);
            var b = JsonNode.Parse(newValue);
            if (a is not JsonObject oa || b is not JsonObject ob) return false;
            StripHeartbeat(oa);
            StripHeartbeat(ob);
            return JsonNode.DeepEquals(oa, ob);
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    private static void StripHeartbeat(JsonObject obj)
    {
        if (obj["metadata"] is JsonObject meta)
        {
            meta.Remove("resourceVersion");
            meta.Remove("managedFields");
        }
        if (obj["status"] is JsonObject status && status["conditions"] is JsonArray conditions)
            foreach (var c in conditions)
                if (c is JsonObject co) co.Remove("lastHeartbeatTime");
    }
}
