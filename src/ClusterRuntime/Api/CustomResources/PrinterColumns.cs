// A CRD version's additionalPrinterColumns as Table columns (what `kubectl get KIND` shows).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Tables;

namespace Appliance.ClusterRuntime.Api.CustomResources;

/// <summary>Turns <c>additionalPrinterColumns</c> into <see cref="TableColumn"/>s, as apiextensions-apiserver's table convertor.</summary>
public static class PrinterColumns
{
    /// <summary>
    /// Name, then each column; without columns, Name and Age (upstream's default). A <c>date</c> column prints as an
    /// age (<c>5m</c>); a missing value is an empty cell (kubectl prints <c>&lt;none&gt;</c>).
    /// </summary>
    public static IReadOnlyList<TableColumn> For(JsonArray? definitions)
    {
        var defs = (definitions ?? []).OfType<JsonObject>().ToList();
        if (defs.Count == 0) return [TableColumns.NameCol, TableColumns.AgeCol];
        var columns = new List<TableColumn> { TableColumns.NameCol };
        foreach (var d in defs)
        {
            var type = CrdNames.Str(d, "type");
            var path = JsonPath.Parse(CrdNames.Str(d, "jsonPath"));
            int priority = d["priority"] is JsonValue p && p.TryGetValue<int>(out var n) ? n : 0;
            columns.Add(new TableColumn(CrdNames.Str(d, "name"), type, priority, CrdNames.Str(d, "description"),
                (o, now) => Cell(path?.Get(o), type, now), CrdNames.Str(d, "format")));
        }
        return columns;
    }

    static JsonNode? Cell(JsonNode? value, string type, DateTimeOffset now) => value switch
    {
        null => null,
        JsonValue v when type == "date" && v.TryGetValue<string>(out var t) => TableColumns.Age(t, now),
        JsonValue v => v.DeepClone(),
        _ => value.ToJsonString(),
    };
}
