// Field paths as printed in problems: "network.interfaces[0].gateway".
namespace Appliance.ImageBuilder.Profiles.Yaml;

/// <summary>Builds the dotted field paths used in problem messages.</summary>
public static class Paths
{
    /// <summary>The path of a mapping entry below <paramref name="parent"/>.</summary>
    public static string Child(string parent, string key) => parent.Length == 0 ? key : parent + "." + key;

    /// <summary>The path of a list item below <paramref name="parent"/>.</summary>
    public static string Item(string parent, int index) => $"{parent}[{index}]";

    /// <summary>The path itself, or <c>(root)</c> for the document root.</summary>
    public static string OrRoot(string path) => path.Length == 0 ? "(root)" : path;
}
