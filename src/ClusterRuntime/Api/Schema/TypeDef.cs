// The model the type table parses into: named object types, their fields, and the value types of fields.
namespace Appliance.ClusterRuntime.Api.Schema;

/// <summary>What a JSON value of a field may be.</summary>
public enum ValueKind
{
    /// <summary>A JSON string.</summary>
    String,
    /// <summary>A JSON string holding an RFC 3339 time (metav1.Time, metav1.MicroTime).</summary>
    Time,
    /// <summary>A JSON string holding base64 ([]byte in Go).</summary>
    Bytes,
    /// <summary>A JSON number without a fraction (int32 or int64, see <see cref="FieldType.Format"/>).</summary>
    Integer,
    /// <summary>Any JSON number.</summary>
    Number,
    /// <summary>true or false.</summary>
    Boolean,
    /// <summary>An integer or a string (intstr.IntOrString).</summary>
    IntOrString,
    /// <summary>A resource quantity: a string such as <c>100m</c> or <c>1Gi</c>, or a number (resource.Quantity).</summary>
    Quantity,
    /// <summary>A JSON object of a named type (<see cref="FieldType.Type"/>).</summary>
    Object,
    /// <summary>A JSON array of <see cref="FieldType.Element"/>.</summary>
    Array,
    /// <summary>A JSON object from string keys to <see cref="FieldType.Element"/>.</summary>
    Map,
    /// <summary>Any JSON object, not described further (runtime.RawExtension, fieldsV1, rarely used sources).</summary>
    FreeObject,
}

/// <summary>The type of a field's value.</summary>
/// <param name="Kind">What JSON value it is.</param>
/// <param name="Type">The named type, for <see cref="ValueKind.Object"/>.</param>
/// <param name="Element">The element type, for arrays and maps.</param>
/// <param name="Format">OpenAPI format (<c>int32</c>, <c>int64</c>, <c>date-time</c>, <c>byte</c>), or null.</param>
public sealed record FieldType(ValueKind Kind, TypeDef? Type = null, FieldType? Element = null, string? Format = null)
{
    /// <summary>The JSON type names a value of this type may have, as upstream's schema errors word them.</summary>
    public string Expected => Kind switch
    {
        ValueKind.String or ValueKind.Time or ValueKind.Bytes => "string",
        ValueKind.Integer => "integer",
        ValueKind.Number => "number",
        ValueKind.Boolean => "boolean",
        ValueKind.IntOrString => "integer,string",
        ValueKind.Quantity => "number,string",
        ValueKind.Array => "array",
        _ => "object",
    };
}

/// <summary>One field of an object type.</summary>
/// <param name="Name">The JSON name.</param>
/// <param name="Type">Its value type.</param>
/// <param name="MergeKey">
/// For lists a strategic merge patch merges element-wise: the key field (<c>x-kubernetes-patch-merge-key</c>), or
/// empty for lists of scalars merged as sets; null for lists that are replaced whole.
/// </param>
public sealed record FieldDef(string Name, FieldType Type, string? MergeKey)
{
    /// <summary>
    /// The keys that identify an element of a keyed list (<c>x-kubernetes-list-map-keys</c>): the merge key, then any
    /// further keys (<c>containerPort</c>, <c>protocol</c>); empty for other fields.
    /// </summary>
    public IReadOnlyList<string> ListMapKeys { get; init; } = [];

    /// <summary>One sentence for OpenAPI and <c>kubectl explain</c> (see TypeDocs), or null.</summary>
    public string? Description { get; init; }

    /// <summary>True when a valid object must set the field (OpenAPI <c>required</c>).</summary>
    public bool Required { get; init; }
}

/// <summary>A named object type, e.g. <c>io.k8s.api.core.v1.Container</c>.</summary>
public sealed class TypeDef(string package, string name)
{
    /// <summary>The Go package path as OpenAPI names it, e.g. <c>io.k8s.api.core.v1</c>.</summary>
    public string Package { get; } = package;

    /// <summary>The type's name inside its package, e.g. <c>Container</c>.</summary>
    public string Name { get; } = name;

    /// <summary>The OpenAPI definition name, e.g. <c>io.k8s.api.core.v1.Container</c>.</summary>
    public string FullName => $"{Package}.{Name}";

    /// <summary>One sentence for OpenAPI and <c>kubectl explain</c> (see TypeDocs), or null.</summary>
    public string? Description { get; internal init; }

    /// <summary>The fields in declaration order.</summary>
    public IReadOnlyList<FieldDef> Fields => _fields;

    readonly List<FieldDef> _fields = [];
    readonly Dictionary<string, FieldDef> _byName = new(StringComparer.Ordinal);

    /// <summary>The field named <paramref name="name"/>, or null when the type does not declare it.</summary>
    public FieldDef? Field(string name) => _byName.GetValueOrDefault(name);

    internal void Add(FieldDef field)
    {
        if (!_byName.TryAdd(field.Name, field)) throw new InvalidOperationException($"type {FullName}: field {field.Name} declared twice");
        _fields.Add(field);
    }

    /// <inheritdoc />
    public override string ToString() => FullName;
}
