// Reading and building the fields controllers use on objects held as JsonObject.
using System.Globalization;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Controllers.Machinery;

/// <summary>Path accessors that never throw on a missing or mistyped field, and owner-reference helpers.</summary>
public static class Obj
{
    /// <summary>The node at <paramref name="path"/>, or null.</summary>
    public static JsonNode? At(JsonObject? obj, params string[] path)
    {
        JsonNode? node = obj;
        foreach (var step in path)
        {
            if (node is not JsonObject o) return null;
            node = o[step];
        }
        return node;
    }

    /// <summary>A string at <paramref name="path"/>, or null.</summary>
    public static string? Str(JsonObject? obj, params string[] path) =>
        At(obj, path) is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>An integer at <paramref name="path"/>, or null.</summary>
    /// <remarks>A value built in memory keeps its CLR type (an <c>int</c> does not read as <c>long</c>), so each is tried.</remarks>
    public static long? Long(JsonObject? obj, params string[] path) =>
        At(obj, path) is not JsonValue v ? null
        : v.TryGetValue<long>(out var l) ? l
        : v.TryGetValue<int>(out var i) ? i
        : v.TryGetValue<double>(out var x) && x == Math.Floor(x) ? (long)x : null;

    /// <summary>An int32 at <paramref name="path"/>, or <paramref name="fallback"/>.</summary>
    public static int Int(JsonObject? obj, int fallback, params string[] path) =>
        Long(obj, path) is long l and >= int.MinValue and <= int.MaxValue ? (int)l : fallback;

    /// <summary>A boolean at <paramref name="path"/>, or null.</summary>
    public static bool? Bool(JsonObject? obj, params string[] path) =>
        At(obj, path) is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;

    /// <summary>An object at <paramref name="path"/>, or null.</summary>
    public static JsonObject? Object(JsonObject? obj, params string[] path) => At(obj, path) as JsonObject;

    /// <summary>The objects of the array at <paramref name="path"/> (empty when absent).</summary>
    public static IEnumerable<JsonObject> Items(JsonObject? obj, params string[] path) =>
        At(obj, path) is JsonArray a ? a.OfType<JsonObject>() : [];

    /// <summary>A time at <paramref name="path"/>, or null.</summary>
    public static DateTimeOffset? Time(JsonObject? obj, params string[] path) =>
        Str(obj, path) is string s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    /// <summary>The object at <paramref name="path"/>, created (with the objects above it) when missing.</summary>
    public static JsonObject Ensure(JsonObject obj, params string[] path)
    {
        var node = obj;
        foreach (var step in path)
        {
            if (node[step] is not JsonObject next) node[step] = next = new JsonObject();
            node = next;
        }
        return node;
    }

    /// <summary>A deep copy, safe to modify (cached objects are shared).</summary>
    public static JsonObject Clone(JsonObject obj) => obj.DeepClone().AsObject();

    /// <summary>The uid.</summary>
    public static string Uid(JsonObject obj) => Meta.Str(obj, "uid") ?? "";

    /// <summary>True when the object carries a deletionTimestamp.</summary>
    public static bool IsDeleting(JsonObject obj) => Meta.Str(obj, "deletionTimestamp") is not null;

    /// <summary>One label of the object's labels map, for selector matching.</summary>
    public static Func<string, string?> Labels(JsonObject obj) => key => Meta.Label(obj, key);

    /// <summary>True when the object's labels match the <c>metav1.LabelSelector</c> at <paramref name="selectorPath"/> of <paramref name="owner"/>.</summary>
    public static bool Selects(JsonObject owner, JsonObject candidate, params string[] selectorPath) =>
        LabelSelector.FromObject(Object(owner, selectorPath)).Matches(Labels(candidate));

    /// <summary>The owner reference marked <c>controller: true</c>, or null.</summary>
    public static JsonObject? ControllerRef(JsonObject obj) =>
        Items(obj, "metadata", "ownerReferences").FirstOrDefault(r => Bool(r, "controller") == true);

    /// <summary>True when <paramref name="obj"/> is controlled by the object with <paramref name="ownerUid"/>.</summary>
    public static bool IsControlledBy(JsonObject obj, string ownerUid) => ControllerRef(obj) is { } r && Str(r, "uid") == ownerUid;

    /// <summary>A controller owner reference to <paramref name="owner"/> (blockOwnerDeletion set, as upstream's controllers do).</summary>
    public static JsonObject OwnerRef(JsonObject owner, ApiResource ownerResource) => new()
    {
        ["apiVersion"] = ownerResource.ApiVersion,
        ["kind"] = ownerResource.Kind,
        ["name"] = Meta.Name(owner),
        ["uid"] = Uid(owner),
        ["controller"] = true,
        ["blockOwnerDeletion"] = true,
    };

    /// <summary>RFC 3339 time as Kubernetes writes it (seconds).</summary>
    public static string Time(DateTimeOffset t) => Meta.Time(t);

    /// <summary>The resource of a core/v1 or group type, by plural.</summary>
    public static ApiResource Resource(string group, string plural) =>
        ResourceTable.Resources.First(r => r.Group == group && r.Plural == plural);
}
