// Locates the repository's profiles and test fixtures, and makes scratch directories that clean up.
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

/// <summary>A temporary directory deleted on dispose.</summary>
internal sealed class ScratchDir : IDisposable
{
    public ScratchDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "appliance-profiles-" + Guid.NewGuid().ToString("N"));

    /// <summary>Writes <paramref name="text"/> to a file in the directory and returns its path.</summary>
    public string Write(string name, string text)
    {
        var p = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        File.WriteAllText(p, text);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
