// Attributes that tie model properties and enum members to their YAML names; binder, schema and renderer read them.
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

/// <summary>The YAML spelling of an enum member.</summary>
[AttributeUsage(AttributeTargets.Field)]
public sealed class ProfileValueAttribute(string name) : Attribute
{
    /// <summary>The YAML spelling.</summary>
    public string Name { get; } = name;
}
