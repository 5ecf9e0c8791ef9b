// Converts Events between core/v1 (how they are stored) and events.k8s.io/v1, as kube-apiserver's conversion does.
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.Storage;

/// <summary>
/// One Event, two shapes: events.k8s.io/v1 renames and moves the core/v1 fields (regarding = involvedObject,
/// note = message, reportingController = reportingComponent, deprecatedSource/FirstTimestamp/LastTimestamp/Count =
/// source/firstTimestamp/lastTimestamp/count); metadata, reason, type, action, eventTime, series, related and
/// reportingInstance are the same in both. Fields neither shape knows are kept as they are.
/// </summary>
public static class EventConversion
{
    /// <summary>(core/v1 name, events.k8s.io/v1 name) of the fields that differ.</summary>
    static readonly (string Core, string Events)[] Renamed =
    [
        ("involvedObject", "regarding"),
        ("message", "note"),
        ("reportingComponent", "reportingController"),
        ("source", "deprecatedSource"),
        ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
        ("count", "deprecatedCount"),
    ];

    /// <summary>The core/v1 field an events.k8s.io/v1 field selector names (<c>regarding.name</c> → <c>involvedObject.name</c>).</summary>
    public static string CoreField(string eventsField)
    {
        foreach (var (core, events) in Renamed)
        {
            if (eventsField == events) return core;
            if (eventsField.StartsWith(events + ".", StringComparison.Ordinal)) return core + eventsField[events.Length..];
        }
        return eventsField;
    }

    /// <summary>The core/v1 Event of an events.k8s.io/v1 one (a new object).</summary>
    public static JsonObject ToCore(JsonObject events) => Convert(events, "v1", e => e.Events, e => e.Core);

    /// <summary>The events.k8s.io/v1 Event of a core/v1 one (a new object).</summary>
    public static JsonObject FromCore(JsonObject core) => Convert(core, "events.k8s.io/v1", e => e.Core, e => e.Events);

    static JsonObject Convert(JsonObject source, string apiVersion, Func<(string Core, string Events), string> from, Func<(string Core, string Events), string> to)
    {
        var result = new JsonObject { ["kind"] = "Event", ["apiVersion"] = apiVersion };
        foreach (var (key, value) in source)
        {
            if (key is "kind" or "apiVersion") continue;
            var rename = Renamed.FirstOrDefault(r => from(r) == key);
            result[rename.Core is null ? key : to(rename)] = value?.DeepClone();
        }
        return result;
    }
}
