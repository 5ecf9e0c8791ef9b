// The attribute that ties model properties to their YAML names; binder, schema and renderer read it.
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
