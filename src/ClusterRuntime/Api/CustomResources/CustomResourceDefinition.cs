// A CustomResourceDefinition as the server reads it: names, scope and versions, with the defaults upstream fills.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Api.CustomResources;

/// <summary>The names of a custom resource (<c>spec.names</c> or <c>status.acceptedNames</c>).</summary>
public sealed record CrdNames(string Plural, string Singular, string Kind, string ListKind, string[] ShortNames, string[] Categories)
{
    /// <summary>Reads a names object, filling singular and listKind as upstream defaults them.</summary>
    public static CrdNames Read(JsonNode? names)
    {
        var kind = Str(names, "kind");
        return new(Str(names, "plural"), Str(names, "singular") is { Length: > 0 } s ? s : kind.ToLowerInvariant(), kind,
            Str(names, "listKind") is { Length: > 0 } l ? l : kind + "List", Strings(names?["shortNames"]), Strings(names?["categories"]));
    }

    /// <summary>As a JSON names object.</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject { ["plural"] = Plural, ["singular"] = Singular };
        if (ShortNames.Length > 0) o["shortNames"] = new JsonArray(ShortNames.Select(n => (JsonNode)n).ToArray());
        o["kind"] = Kind;
        o["listKind"] = ListKind;
        if (Categories.Length > 0) o["categories"] = new JsonArray(Categories.Select(n => (JsonNode)n).ToArray());
        return o;
    }

    internal static string Str(JsonNode? o, string name) =>
        o is JsonObject obj && obj[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";

    internal static string[] Strings(JsonNode? a) =>
        a is JsonArray arr ? arr.OfType<JsonValue>().Select(v => v.TryGetValue<string>(out var s) ? s : null).OfType<string>().ToArray() : [];
}

/// <summary>One entry of <c>spec.versions</c>.</summary>
/// <param name="Name">v1, v1beta1, ...</param>
/// <param name="Served">Whether it is served.</param>
/// <param name="Storage">Whether objects are stored in it (exactly one version is).</param>
/// <param name="Schema">Its <c>schema.openAPIV3Schema</c>.</param>
/// <param name="Status">Whether the status subresource is on.</param>
/// <param name="Scale">The <c>subresources.scale</c> object, or null.</param>
/// <param name="Columns">The <c>additionalPrinterColumns</c>, or null.</param>
public sealed record CrdVersion(string Name, bool Served, bool Storage, JsonObject? Schema, bool Status, JsonObject? Scale, JsonArray? Columns);

/// <summary>The parts of a CustomResourceDefinition that decide what is served.</summary>
public sealed record CustomResourceDefinition(string Name, string Group, CrdNames Names, bool Namespaced, IReadOnlyList<CrdVersion> Versions)
{
    /// <summary>The finalizer that holds a deleted CRD until its objects are gone.</summary>
    public const string CleanupFinalizer = "customresourcecleanup.apiextensions.k8s.io";

    /// <summary>Reads a stored (already validated) CRD.</summary>
    public static CustomResourceDefinition Read(JsonObject crd)
    {
        var spec = crd["spec"];
        var versions = (spec?["versions"] as JsonArray ?? []).OfType<JsonObject>().Select(v => new CrdVersion(
            CrdNames.Str(v, "name"),
            v["served"] is JsonValue s && s.TryGetValue<bool>(out var served) && served,
            v["storage"] is JsonValue st && st.TryGetValue<bool>(out var storage) && storage,
            v["schema"]?["openAPIV3Schema"] as JsonObject,
            v["subresources"]?["status"] is JsonObject,
            v["subresources"]?["scale"] as JsonObject,
            v["additionalPrinterColumns"] as JsonArray)).ToList();
        return new(Meta.Name(crd) ?? "", CrdNames.Str(spec, "group"), CrdNames.Read(spec?["names"]), CrdNames.Str(spec, "scope") == "Namespaced", versions);
    }

    /// <summary>The version objects are stored in.</summary>
    public CrdVersion? StorageVersion => Versions.FirstOrDefault(v => v.Storage);

    /// <summary>
    /// Fills what upstream defaults on every write of a CRD: singular, listKind, conversion strategy None (nothing
    /// inside the versions list, so that re-applying a manifest is "unchanged"); on create the cleanup finalizer and
    /// a fresh status with the stored version.
    /// </summary>
    public static void ApplyDefaults(JsonObject crd, bool creating)
    {
        if (crd["spec"] is not JsonObject spec) return;
        if (spec["names"] is JsonObject names)
        {
            var kind = CrdNames.Str(names, "kind");
            if (CrdNames.Str(names, "singular").Length == 0 && kind.Length > 0) names["singular"] = kind.ToLowerInvariant();
            if (CrdNames.Str(names, "listKind").Length == 0 && kind.Length > 0) names["listKind"] = kind + "List";
        }
        spec["conversion"] ??= new JsonObject { ["strategy"] = "None" };
        if (!creating) return;
        var finalizers = Meta.Finalizers(crd);
        if (!finalizers.Contains(CleanupFinalizer)) DeletePropagation.SetFinalizers(crd, [.. finalizers, CleanupFinalizer]);
        var stored = (spec["versions"] as JsonArray ?? []).OfType<JsonObject>()
            .Where(v => v["storage"] is JsonValue s && s.TryGetValue<bool>(out var b) && b).Select(v => (JsonNode)CrdNames.Str(v, "name")).ToArray();
        crd["status"] = new JsonObject
        {
            ["conditions"] = new JsonArray(),
            ["acceptedNames"] = new JsonObject { ["plural"] = "", ["kind"] = "" },
            ["storedVersions"] = new JsonArray(stored),
        };
    }
}
