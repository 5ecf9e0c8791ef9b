// What the generic storage needs to know about one served version of a custom resource, and its admission steps.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Api.Tables;

namespace Appliance.ClusterRuntime.Api.CustomResources;

/// <summary>One served version of a CRD, carried by its <see cref="ApiResource"/> row (<see cref="ApiResource.Custom"/>).</summary>
/// <param name="CrdName">The CRD's name (<c>PLURAL.GROUP</c>).</param>
/// <param name="ListKind">spec.names.listKind.</param>
/// <param name="Schema">The version's openAPIV3Schema.</param>
/// <param name="Columns">The Table columns.</param>
/// <param name="Scale">The scale subresource's paths, or null.</param>
/// <param name="Terminating">True while the CRD is being deleted: objects may be read and deleted, not created.</param>
public sealed record CustomResourceVersion(string CrdName, string ListKind, JsonObject Schema, IReadOnlyList<TableColumn> Columns, CustomScale? Scale, bool Terminating)
{
    // Kept outside the record's fields, so that two versions with the same content still compare equal.
    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<CustomResourceVersion, Schema.TypeDef> Types = new();

    /// <summary>The schema as a type of the type table (<see cref="SchemaTypes"/>), built once per served version.</summary>
    public Schema.TypeDef TypeFor(ApiResource r) => Types.GetValue(this, _ => SchemaTypes.From(r, Schema));

    /// <summary>
    /// Admits a write of <paramref name="obj"/> as <paramref name="r"/>: prunes unknown fields, applies defaults,
    /// then validates against the schema (422 naming each field). Returns the pruned field paths.
    /// </summary>
    public List<string> Admit(ApiResource r, JsonObject obj)
    {
        var pruned = StructuralSchema.Prune(Schema, obj);
        StructuralSchema.Default(Schema, obj);
        var problems = StructuralSchema.Validate(Schema, obj);
        if (problems.Count > 0)
            throw ApiException.Invalid(r.Group, r.Kind, Meta.Name(obj) ?? "", problems.Take(20).Select(p => (p.Field, p.Message)).ToList());
        return pruned;
    }

    /// <summary>
    /// Before a create: refused while the CRD terminates (as upstream), and with a status subresource the status
    /// of the body is dropped (it is written only through <c>/status</c>).
    /// </summary>
    public void PrepareCreate(ApiResource r, JsonObject obj)
    {
        if (Terminating) throw ApiException.MethodNotAllowed($"create not allowed while custom resource definition is terminating");
        if (r.HasStatus) obj.Remove("status");
    }

    /// <summary>
    /// A stored object as version <paramref name="r"/> shows it, on every read (get, list, watch): no conversion
    /// beyond its apiVersion (strategy None), and the schema's defaults, so a default added to the CRD later shows.
    /// </summary>
    public JsonObject View(ApiResource r, JsonObject stored)
    {
        stored["apiVersion"] = r.ApiVersion;
        StructuralSchema.Default(Schema, stored);
        return stored;
    }
}
