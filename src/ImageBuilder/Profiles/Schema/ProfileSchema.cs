// Generates the JSON Schema (draft 2020-12) for site profiles from the model's field attributes.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ImageBuilder.Boards;
using Appliance.ImageBuilder.Profiles.Binding;
using Appliance.ImageBuilder.Profiles.Model;
using Appliance.ImageBuilder.Profiles.Validation;

namespace Appliance.ImageBuilder.Profiles.Schema;

/// <summary>
/// The JSON Schema editors use to complete and check profiles. It is built from the same attributes the
/// binder reads, so every model field is in it. Checks that need files or arithmetic (CIDR overlap,
/// tokenFile contents, manifest existence) are only in <c>appliance profile validate</c>.
/// </summary>
public static class ProfileSchema
{
    /// <summary>The draft this schema follows.</summary>
    public const string Draft = "https://json-schema.org/draft/2020-12/schema";

    /// <summary>The schema's identifier.</summary>
    public const string Id = "https://appliance.invalid/schemas/site-profile/v1.json";

    /// <summary>The schema as an indented JSON document.</summary>
    public static string ToJson() => Build().ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";

    /// <summary>The schema as a JSON object.</summary>
    public static JsonObject Build()
    {
        var root = ObjectSchema(typeof(SiteProfile), inList: false);
        var props = (JsonObject)root["properties"]!;
        props["apiVersion"]!["const"] = SiteProfile.SupportedApiVersion;
        props["kind"]!["const"] = SiteProfile.SupportedKind;
        props.Insert(0, "extends", new JsonObject
        {
            ["type"] = "string",
            ["description"] = "Path of a parent profile, relative to this file. Maps deep-merge, lists replace, this file wins.",
        });
        // A child may leave any mapping field to its parent, so a single file's schema requires only the
        // header; list items are replaced whole, so their required fields stay. `profile validate`
        // checks the merged result.
        root["required"] = new JsonArray("apiVersion", "kind");
        var schema = new JsonObject
        {
            ["$schema"] = Draft,
            ["$id"] = Id,
            ["title"] = "Appliance site profile (appliance/v1, SiteProfile)",
        };
        foreach (var (k, v) in root)
            schema[k] = v?.DeepClone();
        schema["allOf"] = new JsonArray([AgentNeedsServer(), .. FormatsNeedBoards()]);

        // One file may set at most one field of a one-of group (a child replaces its parent's choice, so "exactly
        // one" is checked on the merged profile by `profile validate`).
        foreach (var group in OneOfGroups.Site)
        {
            var section = group.Section.Split('.', StringSplitOptions.RemoveEmptyEntries).Aggregate((JsonObject)schema, (o, name) => (JsonObject)o["properties"]![name]!);
            // "at most one": no two of the group's fields together (with three fields, not all three is too weak).
            var pairs = group.Fields.SelectMany((a, i) => group.Fields.Skip(i + 1).Select(b => (JsonNode)new JsonObject { ["required"] = new JsonArray(a, b) }));
            section["not"] = new JsonObject { ["anyOf"] = new JsonArray(pairs.ToArray()) };
        }
        var cluster = (JsonObject)schema["properties"]!["cluster"]!;
        var token = (JsonObject)cluster["properties"]!["token"]!;
        token.Remove("type");
        token["anyOf"] = new JsonArray(new JsonObject { ["type"] = "string", ["minLength"] = ProfileValidator.MinTokenLength }, EnvReference());
        return schema;
    }

    private static JsonObject AgentNeedsServer() => new()
    {
        ["if"] = new JsonObject
        {
            ["properties"] = new JsonObject { ["node"] = new JsonObject { ["properties"] = new JsonObject { ["role"] = new JsonObject { ["const"] = "agent" } }, ["required"] = new JsonArray("role") } },
            ["required"] = new JsonArray("node"),
        },
        ["then"] = new JsonObject
        {
            ["properties"] = new JsonObject { ["cluster"] = new JsonObject { ["required"] = new JsonArray("server") } },
        },
    };

    /// <summary>For each format the build makes but not every board boots: the boards that boot it (from <see cref="Board.Formats"/>).</summary>
    private static IEnumerable<JsonObject> FormatsNeedBoards() =>
        from format in ImageFormats.Built
        let boards = Board.All.Where(b => b.Formats.Contains(format)).ToList()
        where boards.Count < Board.All.Count
        select new JsonObject
        {
            ["if"] = new JsonObject
            {
                ["properties"] = new JsonObject { ["target"] = new JsonObject { ["properties"] = new JsonObject { ["format"] = new JsonObject { ["const"] = ImageFormats.Name(format) } }, ["required"] = new JsonArray("format") } },
                ["required"] = new JsonArray("target"),
            },
            ["then"] = new JsonObject
            {
                ["properties"] = new JsonObject { ["target"] = new JsonObject { ["properties"] = new JsonObject { ["board"] = new JsonObject { ["enum"] = new JsonArray(boards.Select(b => (JsonNode)b.Name).ToArray()) } } } },
            },
        };

    private static JsonObject ObjectSchema(Type type, bool inList)
    {
        var props = new JsonObject();
        var required = new JsonArray();
        foreach (var (prop, field) in ModelBinder.FieldsOf(type))
        {
            var s = TypeSchema(prop.PropertyType, inList);
            if (field.Description.Length > 0)
                s["description"] = field.Description;
            props[field.Name] = s;
            if (field.Required)
                required.Add(field.Name);
        }
        var o = new JsonObject { ["type"] = "object", ["additionalProperties"] = false, ["properties"] = props };
        if (required.Count > 0 && inList)
            o["required"] = required;
        return o;
    }

    /// <summary>A string holding a <c>${env:NAME}</c> reference: its value is only known when the profile is loaded.</summary>
    private static JsonObject EnvReference() => new()
    {
        ["type"] = "string",
        ["pattern"] = @"\$\{env:[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}",
    };

    private static JsonObject TypeSchema(Type t, bool inList)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        if (t == typeof(string) || t == typeof(ProfilePath)) return new() { ["type"] = "string" };
        if (ScalarTypes.IsScalar(t))
            return new() { ["anyOf"] = new JsonArray(TypedScalar(t), EnvReference()) };
        if (t == typeof(Dictionary<string, string>)) return new() { ["type"] = "object", ["additionalProperties"] = new JsonObject { ["type"] = "string" } };
        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(List<>))
            return new() { ["type"] = "array", ["items"] = TypeSchema(t.GetGenericArguments()[0], inList: true) };
        return ObjectSchema(t, inList);
    }

    /// <summary>The schema of a scalar type other than plain text.</summary>
    private static JsonObject TypedScalar(Type t)
    {
        if (t == typeof(bool)) return new() { ["type"] = "boolean" };
        // The schema offers only the formats the build makes; profile validate says why another one is refused.
        if (t == typeof(ImageFormat)) return new() { ["enum"] = new JsonArray(ImageFormats.Built.Select(f => (JsonNode)ImageFormats.Name(f)).ToArray()) };
        if (t == typeof(Board)) return new() { ["enum"] = new JsonArray(ScalarTypes.BoardNames.Select(n => (JsonNode)n).ToArray()) };
        if (t.IsEnum) return new() { ["enum"] = new JsonArray(EnumNames.Of(t).Select(n => (JsonNode)n).ToArray()) };
        if (t == typeof(ByteSize)) // a plain number of bytes is an integer to a YAML editor
            return new() { ["type"] = new JsonArray("string", "integer"), ["minimum"] = 0, ["pattern"] = "^[0-9]+ *(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)?$" };
        if (t == typeof(Cidr) || t == typeof(InterfaceAddress)) return new() { ["type"] = "string", ["pattern"] = "^[0-9A-Fa-f.:]+/[0-9]{1,3}$" };
        if (t == typeof(IPAddress)) return new() { ["type"] = "string", ["anyOf"] = new JsonArray(new JsonObject { ["format"] = "ipv4" }, new JsonObject { ["format"] = "ipv6" }) };
        if (t == typeof(Uri)) return new() { ["type"] = "string", ["format"] = "uri", ["pattern"] = "^https://" };
        throw new InvalidOperationException($"no schema for scalar type {t}");
    }
}
