// The one-of groups of the site profile model ([ProfileOneOf] sections), by field path, for the merger, validator and schema.
using System.Reflection;
using Appliance.ImageBuilder.Profiles.Model;
using Appliance.ImageBuilder.Profiles.Yaml;

namespace Appliance.ImageBuilder.Profiles.Binding;

/// <summary>
/// One set of alternative fields: the section's path (such as <c>cluster</c>), the fields' YAML names, and the field
/// whose presence makes the group optional (<see cref="ProfileOneOfAttribute.OptionalWith"/>).
/// </summary>
public sealed record OneOfGroup(string Section, IReadOnlyList<string> Fields, string? OptionalWith = null)
{
    /// <summary>The full path of <see cref="OptionalWith"/>, or null.</summary>
    public string? OptionalWithPath => OptionalWith is null ? null : Paths.Child(Section, OptionalWith);

    /// <summary>The full path of each field, such as <c>cluster.tokenFile</c>.</summary>
    public IEnumerable<string> FieldPaths => Fields.Select(f => Paths.Child(Section, f));

    /// <summary>"cluster.token or cluster.tokenFile".</summary>
    public string Names => string.Join(" or ", FieldPaths);
}

/// <summary>Finds the <see cref="ProfileOneOfAttribute"/> sections of a model, walking its mapping fields (list items replace whole, so they are not walked).</summary>
public static class OneOfGroups
{
    /// <summary>The groups of <see cref="SiteProfile"/>.</summary>
    public static IReadOnlyList<OneOfGroup> Site { get; } = Of(typeof(SiteProfile));

    /// <summary>The groups of <paramref name="model"/> and of the sections below it.</summary>
    public static IReadOnlyList<OneOfGroup> Of(Type model)
    {
        var groups = new List<OneOfGroup>();
        Walk(model, "", groups);
        return groups;
    }

    /// <summary>The groups of the section at <paramref name="section"/> ("" for the top).</summary>
    public static IEnumerable<OneOfGroup> At(this IReadOnlyList<OneOfGroup> groups, string section) => groups.Where(g => g.Section == section);

    private static void Walk(Type type, string path, List<OneOfGroup> groups)
    {
        foreach (var a in type.GetCustomAttributes<ProfileOneOfAttribute>())
            groups.Add(new OneOfGroup(path, a.Fields, a.OptionalWith));
        foreach (var (prop, field) in ModelBinder.FieldsOf(type))
        {
            var t = Nullable.GetUnderlyingType(prop.PropertyType) ?? prop.PropertyType;
            if (t.IsClass && t != typeof(string) && !ScalarTypes.IsScalar(t) && !t.IsGenericType)
                Walk(t, Paths.Child(path, field.Name), groups);
        }
    }
}
