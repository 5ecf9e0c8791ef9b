// A namespace's phase belongs to the server: Active until it is deleted, Terminating after (upstream's status validation).
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.Storage;

/// <summary>Checks a namespace status written through the status subresource.</summary>
public static class NamespaceStatus
{
    /// <summary>Throws 422 when <paramref name="obj"/>'s <c>status.phase</c> does not match its deletion state.</summary>
    public static void Check(ApiResource r, JsonObject obj)
    {
        if (r.Kind != "Namespace") return;
        var phase = obj["status"]?["phase"] is JsonValue v && v.TryGetValue<string>(out var p) ? p : null;
        if (phase is null) return;
        bool deleting = Meta.Str(obj, "deletionTimestamp") is not null;
        if (!deleting && phase != "Active")
            throw ApiException.Invalid(r, Meta.Name(obj) ?? "", "status.phase", $"Invalid value: \"{phase}\": may only be 'Active' if `deletionTimestamp` is empty");
        if (deleting && phase != "Terminating")
            throw ApiException.Invalid(r, Meta.Name(obj) ?? "", "status.phase", $"Invalid value: \"{phase}\": may only be 'Terminating' if `deletionTimestamp` is not empty");
    }
}
