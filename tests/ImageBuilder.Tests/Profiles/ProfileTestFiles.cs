// Locates the repository's profiles and test fixtures.
namespace Appliance.ImageBuilder.Tests.Profiles;

/// <summary>Paths used by the profile tests.</summary>
internal static class ProfileTestFiles
{
    /// <summary>The repository root (the directory holding Appliance.sln).</summary>
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>The malformed-profile fixtures.</summary>
    public static string MalformedDir => Path.Combine(RepoRoot, "tests", "ImageBuilder.Tests", "Profiles", "Malformed");

    /// <summary>profiles/sites.</summary>
    public static string SitesDir => Path.Combine(RepoRoot, "profiles", "sites");

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Appliance.sln")))
                return d.FullName;
        throw new InvalidOperationException("Appliance.sln not found above " + AppContext.BaseDirectory);
    }
}
