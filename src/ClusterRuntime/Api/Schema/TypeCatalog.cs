// Parses the type table once and answers "what is the type of this kind / this named type".
namespace Appliance.ClusterRuntime.Api.Schema;

/// <summary>The built-in types, resolved from <see cref="BuiltinTypes"/>; validation and (later) OpenAPI read them here.</summary>
public static class TypeCatalog
{
    /// <summary>The package of ObjectMeta, LabelSelector, DeleteOptions.</summary>
    public const string MetaPackage = "io.k8s.apimachinery.pkg.apis.meta.v1";

    /// <summary>The package of the core/v1 types.</summary>
    public const string CorePackage = "io.k8s.api.core.v1";

    static readonly Dictionary<string, TypeDef> ByFullName = Build();

    /// <summary>Every type, by OpenAPI name.</summary>
    public static IReadOnlyDictionary<string, TypeDef> All => ByFullName;

    /// <summary>The package that holds the types of a group/version: <c>io.k8s.api.apps.v1</c> for <c>apps/v1</c>.</summary>
    public static string PackageOf(string group, string version) =>
        $"io.k8s.api.{(group.Length == 0 ? "core" : group.Split('.')[0])}.{version}";

    /// <summary>The top-level type of a served resource; a custom resource's comes from its CRD's schema (CustomResources/SchemaTypes).</summary>
    public static TypeDef For(ApiResource r) => r.Custom is { } custom ? custom.TypeFor(r) :
        ByFullName.GetValueOrDefault($"{PackageOf(r.Group, r.Version)}.{r.Kind}")
        ?? throw new InvalidOperationException($"the type table has no {r.Kind} in {PackageOf(r.Group, r.Version)}");

    /// <summary>A type by its OpenAPI name, e.g. <c>io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions</c>.</summary>
    public static TypeDef Get(string fullName) =>
        ByFullName.GetValueOrDefault(fullName) ?? throw new InvalidOperationException($"the type table has no {fullName}");

    static Dictionary<string, TypeDef> Build()
    {
        var types = new Dictionary<string, TypeDef>(StringComparer.Ordinal);
        var specs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (package, entries) in BuiltinTypes.Packages)
            foreach (var (name, spec) in entries)
            {
                var t = new TypeDef(package, name) { Description = TypeDocs.Type(name) };
                types.Add(t.FullName, t);
                specs.Add(t.FullName, spec);
            }
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in types.Values) Fill(t, types, specs, done, []);
        return types;
    }

    static void Fill(TypeDef t, Dictionary<string, TypeDef> types, Dictionary<string, string> specs, HashSet<string> done, HashSet<string> filling)
    {
        if (done.Contains(t.FullName)) return;
        if (!filling.Add(t.FullName)) throw new InvalidOperationException($"type {t.FullName} includes itself");
        foreach (var token in specs[t.FullName].Split([' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (token.StartsWith("...", StringComparison.Ordinal))
            {
                var inlined = Resolve(token[3..], t, types);
                Fill(inlined, types, specs, done, filling);
                foreach (var f in inlined.Fields) t.Add(f);
                continue;
            }
            var colon = token.IndexOf(':');
            if (colon <= 0) throw new InvalidOperationException($"type {t.FullName}: \"{token}\" is not field:type");
            var typeText = token[(colon + 1)..];
            string? mergeKey = null;
            string[] listMapKeys = [];
            var at = typeText.IndexOf('@');
            if (at >= 0)
            {
                // "@containerPort,protocol": the first key is the merge key, all of them identify an element.
                listMapKeys = typeText[(at + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries);
                mergeKey = listMapKeys.Length == 0 ? "" : listMapKeys[0];
                typeText = typeText[..at];
                if (!typeText.StartsWith("[]", StringComparison.Ordinal)) throw new InvalidOperationException($"type {t.FullName}: merge key on {token}, which is not a list");
            }
            var name = token[..colon];
            t.Add(new FieldDef(name, Parse(typeText, t, types), mergeKey)
            {
                ListMapKeys = listMapKeys, Description = TypeDocs.Field(t.Name, name), Required = TypeDocs.IsRequired(t.Name, name),
            });
        }
        filling.Remove(t.FullName);
        done.Add(t.FullName);
    }

    static FieldType Parse(string text, TypeDef owner, Dictionary<string, TypeDef> types) => text switch
    {
        "string" => new(ValueKind.String),
        "time" => new(ValueKind.Time, Format: "date-time"),
        "bytes" => new(ValueKind.Bytes, Format: "byte"),
        "int32" or "int64" => new(ValueKind.Integer, Format: text),
        "number" => new(ValueKind.Number, Format: "double"),
        "boolean" => new(ValueKind.Boolean),
        "int-or-string" => new(ValueKind.IntOrString, Format: "int-or-string"),
        "quantity" => new(ValueKind.Quantity),
        "object" => new(ValueKind.FreeObject),
        _ when text.StartsWith("[]", StringComparison.Ordinal) => new(ValueKind.Array, Element: Parse(text[2..], owner, types)),
        _ when text.StartsWith("{}", StringComparison.Ordinal) => new(ValueKind.Map, Element: Parse(text[2..], owner, types)),
        _ => new(ValueKind.Object, Resolve(text, owner, types)),
    };

    /// <summary>A type name is looked up in the owner's package, then core/v1, then meta/v1 (as Go code imports them).</summary>
    static TypeDef Resolve(string name, TypeDef owner, Dictionary<string, TypeDef> types)
    {
        foreach (var package in new[] { owner.Package, CorePackage, MetaPackage })
            if (types.TryGetValue($"{package}.{name}", out var t)) return t;
        throw new InvalidOperationException($"type {owner.FullName}: unknown type {name}");
    }
}
