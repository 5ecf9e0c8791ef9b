// Turns objects into meta.k8s.io/v1 Table objects for `kubectl get` (Accept: application/json;as=Table;g=meta.k8s.io;v=v1).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Schema;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Api.Tables;

/// <summary>Builds Table objects.</summary>
public static class TableConverter
{
    static readonly TypeDef ObjectMeta = TypeCatalog.Get(TypeCatalog.MetaPackage + ".ObjectMeta");

    /// <summary>The metadata fields of a stored object that fit ObjectMeta (so that clients can decode the row).</summary>
    static JsonObject FittingMetadata(JsonObject obj)
    {
        var result = new JsonObject();
        if (obj["metadata"] is not JsonObject meta) return result;
        foreach (var (name, value) in meta)
            if (SchemaValidator.Check(ObjectMeta, meta, [name]).Count == 0) result[name] = value?.DeepClone();
        return result;
    }

    /// <summary>A Table of <paramref name="items"/>. <paramref name="includeObject"/> is None, Metadata (default) or Object.</summary>
    public static JsonObject ToTable(ApiResource r, IEnumerable<JsonObject> items, string? resourceVersion, string? continueToken, string? includeObject, DateTimeOffset now, bool withColumns = true)
    {
        var table = new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = "meta.k8s.io/v1",
            ["metadata"] = new JsonObject(),
        };
        if (resourceVersion is not null) table["metadata"]!["resourceVersion"] = resourceVersion;
        if (continueToken is not null) table["metadata"]!["continue"] = continueToken;
        if (withColumns) table["columnDefinitions"] = ColumnDefinitions(r);
        table["rows"] = new JsonArray(Rows(r, items, includeObject, now).ToArray<JsonNode?>());
        return table;
    }

    /// <summary>The <c>columnDefinitions</c> of a Table of <paramref name="r"/>.</summary>
    public static JsonArray ColumnDefinitions(ApiResource r) =>
        new((r.Custom?.Columns ?? TableColumns.For(r.Kind)).Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c.Name,
            ["type"] = c.Type,
            ["format"] = c.Format,
            ["description"] = c.Description,
            ["priority"] = c.Priority,
        }).ToArray());

    /// <summary>The rows of <paramref name="items"/>, one at a time (a streamed Table writes each and drops it).</summary>
    public static IEnumerable<JsonObject> Rows(ApiResource r, IEnumerable<JsonObject> items, string? includeObject, DateTimeOffset now)
    {
        var columns = r.Custom?.Columns ?? TableColumns.For(r.Kind);
        // A custom resource was checked against its schema when written; there is no table type to check it against.
        var type = r.Custom is null ? TypeCatalog.For(r) : null;
        foreach (var obj in items)
        {
            // An object stored before types were checked may not fit its type: it gets a row with its name and age,
            // and <invalid> where a column would read its fields, instead of failing the whole table.
            bool fits = type is null || SchemaValidator.Fits(type, obj);
            // A view (events.k8s.io/v1 Event) is printed from its stored shape, as upstream prints the internal type.
            var shown = fits && r.StoredAs is not null && r.Custom is null ? EventConversion.ToCore(obj) : obj;
            var cells = columns.Select(c => fits || TableColumns.ReadsMetadataOnly(c) ? c.Cell(shown, now)?.DeepClone() : "<invalid>");
            var row = new JsonObject { ["cells"] = new JsonArray(cells.ToArray()) };
            switch (includeObject)
            {
                case "None": break;
                case "Object": row["object"] = obj.DeepClone(); break;
                default:
                    row["object"] = new JsonObject
                    {
                        ["kind"] = "PartialObjectMetadata",
                        ["apiVersion"] = "meta.k8s.io/v1",
                        ["metadata"] = fits ? Meta.Of(obj).DeepClone() : FittingMetadata(obj),
                    };
                    break;
            }
            yield return row;
        }
    }
}
