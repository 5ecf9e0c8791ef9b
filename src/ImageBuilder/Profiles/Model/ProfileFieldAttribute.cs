// The attributes that tie model properties to their YAML names and mark alternative fields; binder, merger, schema and renderer read them.
namespace Appliance.ImageBuilder.Profiles.Model;

/// <summary>Marks a property as a profile field with its YAML name.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ProfileFieldAttribute(string name) : Attribute
{
    /// <summary>The YAML key.</summary>
    public string Name { get; } = name;

    /// <summary>True when the field must be present.</summary>
    public bool Required { get; init; }

    /// <summary>True when the value is a secret: it is redacted in rendered output and in logs.</summary>
    public bool Secret { get; init; }

    /// <summary>One sentence for the JSON Schema and the field reference.</summary>
    public string Description { get; init; } = "";
}

/// <summary>
/// Marks a section whose fields <see cref="Fields"/> are alternatives: exactly one of them is set. A child profile that
/// sets one of them replaces the parent's value of every other (<c>extends:</c> merge), validation reports none or
/// several, and the schema forbids several in one file.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class ProfileOneOfAttribute(params string[] fields) : Attribute
{
    /// <summary>The YAML names of the alternative fields, in the order messages name them.</summary>
    public IReadOnlyList<string> Fields { get; } = fields;

    /// <summary>
    /// A field of the same section that, when set, supplies the value, so that none of <see cref="Fields"/> is needed
    /// (<c>cluster.pki</c> holds the token); null: one of them is always required.
    /// </summary>
    public string? OptionalWith { get; init; }
}
