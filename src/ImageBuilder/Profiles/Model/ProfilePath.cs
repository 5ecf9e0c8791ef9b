// A file path written in a profile, kept with the directory of the profile file that wrote it.
namespace Appliance.ImageBuilder.Profiles.Model;

/// <summary>
/// A path as written in a profile. Relative paths are relative to the profile file that declares
/// them (not the one that extends it), so <see cref="FullPath"/> is what the build opens.
/// </summary>
public sealed record ProfilePath(string Written, string BaseDirectory)
{
    /// <summary>The absolute path.</summary>
    public string FullPath => Path.GetFullPath(Path.Combine(BaseDirectory, Written));

    /// <inheritdoc />
    public override string ToString() => Written;
}
