// One validation problem: where it is, which field, and what is wrong.
using Appliance.ImageBuilder.Profiles.Yaml;

namespace Appliance.ImageBuilder.Profiles;

/// <summary>
/// A problem found in a profile, printed as <c>FILE:LINE:COL: field.path: what is wrong</c>.
/// Problems that concern the YAML text rather than a field use the path <c>(yaml)</c>.
/// </summary>
public sealed record ProfileProblem(string File, int Line, int Column, string Path, string Message)
{
    /// <summary>The path used for problems with the YAML text itself.</summary>
    public const string YamlPath = "(yaml)";

    /// <summary>Creates a problem at a node's mark.</summary>
    public static ProfileProblem At(SourceMark mark, string path, string message) =>
        new(mark.File, mark.Line, mark.Column, path, message);

    /// <inheritdoc />
    /// <remarks>A problem with the file as a whole (line 0, such as "not found") prints as <c>FILE: message</c>.</remarks>
    public override string ToString() => Line == 0 ? $"{File}: {Message}" : $"{File}:{Line}:{Column}: {Path}: {Message}";
}
