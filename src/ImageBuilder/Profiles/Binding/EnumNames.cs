// YAML spellings of enum members, from their JsonStringEnumMemberName attributes.
using System.Reflection;
using System.Text.Json.Serialization;

namespace Appliance.ImageBuilder.Profiles.Binding;

/// <summary>Maps enum members to and from their YAML spelling.</summary>
public static class EnumNames
{
    /// <summary>The YAML spellings of every member of <paramref name="enumType"/>, in declaration order.</summary>
    public static IReadOnlyList<string> Of(Type enumType) =>
        enumType.GetFields(BindingFlags.Public | BindingFlags.Static)
            .OrderBy(f => f.MetadataToken)
            .Select(f => f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? f.Name)
            .ToList();

    /// <summary>The YAML spelling of <paramref name="value"/>.</summary>
    public static string NameOf(Enum value)
    {
        var field = value.GetType().GetField(value.ToString(), BindingFlags.Public | BindingFlags.Static);
        return field?.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? value.ToString();
    }

    /// <summary>The YAML spelling of <paramref name="value"/>.</summary>
    public static string NameOf<T>(T value) where T : struct, Enum => NameOf((Enum)value);

    /// <summary>The member spelled <paramref name="text"/> (exact, case-sensitive), or null.</summary>
    public static object? Parse(Type enumType, string text)
    {
        foreach (var f in enumType.GetFields(BindingFlags.Public | BindingFlags.Static))
            if ((f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? f.Name) == text)
                return f.GetValue(null);
        return null;
    }
}
