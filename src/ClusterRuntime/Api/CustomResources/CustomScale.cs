// The scale subresource of a custom resource: replicas and selector read from and written to the CRD's JSON paths.
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.CustomResources;

/// <summary>A CRD version's <c>subresources.scale</c>: specReplicasPath, statusReplicasPath and labelSelectorPath.</summary>
public sealed record CustomScale(JsonPath SpecReplicas, JsonPath StatusReplicas, JsonPath? LabelSelector)
{
    /// <summary>Reads a <c>subresources.scale</c> object (already validated); null without one.</summary>
    public static CustomScale? Read(JsonObject? scale) =>
        scale is not null && JsonPath.Parse(CrdNames.Str(scale, "specReplicasPath")) is { } spec && JsonPath.Parse(CrdNames.Str(scale, "statusReplicasPath")) is { } status
            ? new CustomScale(spec, status, JsonPath.Parse(CrdNames.Str(scale, "labelSelectorPath")))
            : null;

    /// <summary>The scale paths of the custom resource <paramref name="obj"/> is (by its apiVersion and kind), or null for built-in kinds.</summary>
    public static CustomScale? Of(JsonObject obj) =>
        ResourceTable.FindKind(CrdNames.Str(obj, "apiVersion"), CrdNames.Str(obj, "kind"))?.Custom?.Scale;

    /// <summary>Puts the replicas and selector of <paramref name="obj"/> into the Scale <paramref name="scale"/> (whose metadata is filled).</summary>
    public JsonObject Fill(JsonObject obj, JsonObject scale)
    {
        scale["spec"] = new JsonObject { ["replicas"] = Replicas(SpecReplicas.Get(obj)) };
        var status = new JsonObject { ["replicas"] = Replicas(StatusReplicas.Get(obj)) };
        if (LabelSelector?.Get(obj) is JsonValue v && v.TryGetValue<string>(out var selector)) status["selector"] = selector;
        scale["status"] = status;
        return scale;
    }

    /// <summary>Writes <paramref name="replicas"/> at specReplicasPath.</summary>
    public void SetReplicas(JsonObject obj, long replicas) => SpecReplicas.Set(obj, replicas);

    static long Replicas(JsonNode? node) => node is JsonValue v && Schema.SchemaValidator.TryInteger(v, out var n) ? n : 0;
}
