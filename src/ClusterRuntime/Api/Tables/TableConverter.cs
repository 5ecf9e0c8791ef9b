// Turns objects into meta.k8s.io/v1 Table objects for `kubectl get` (Accept: application/json;as=Table;g=meta.k8s.io;v=v1).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Api.Tables;

/// <summary>Builds Table objects.</summary>
public static class TableConverter
{
    /// <summary>A Table of <paramref name="items"/>. <paramref name="includeObject"/> is None, Metadata (default) or Object.</summary>
    public static JsonObject ToTable(ApiResource r, IEnumerable<JsonObject> items, string? resourceVersion, string? continueToken, string? includeObject, DateTimeOffset now, bool withColumns = true)
    {
        var columns = TableColumns.For(r.Kind);
        var table = new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = "meta.k8s.io/v1",
            ["metadata"] = new JsonObject(),
        };
        if (resourceVersion is not null) table["metadata"]!["resourceVersion"] = resourceVersion;
        if (continueToken is not null) table["metadata"]!["continue"] = continueToken;
        if (withColumns)
        {
            table["columnDefinitions"] = new JsonArray(columns.Select(c => (JsonNode)new JsonObject
            {
                ["name"] = c.Name,
                ["type"] = c.Type,
                ["format"] = c.Format,
                ["description"] = c.Description,
                ["priority"] = c.Priority,
            }).ToArray());
        }
        var rows = new JsonArray();
        foreach (var obj in items)
        {
            var row = new JsonObject { ["cells"] = new JsonArray(columns.Select(c => c.Cell(obj, now)?.DeepClone()).ToArray()) };
            switch (includeObject)
            {
                case "None": break;
                case "Object": row["object"] = obj.DeepClone(); break;
                default:
                    row["object"] = new JsonObject
                    {
                        ["kind"] = "PartialObjectMetadata",
                        ["apiVersion"] = "meta.k8s.io/v1",
                        ["metadata"] = Meta.Of(obj).DeepClone(),
                    };
                    break;
            }
            rows.Add(row);
        }
        table["rows"] = rows;
        return table;
    }
}
