// Locates the repository's profiles and test fixtures.
namespace Appliance.ImageBuilder.Tests.Profiles;

/// <summary>Paths used by the profile tests.</summary>
internal static class ProfileTestFiles
{
    /// <summary>The repository root (the directory holding Appliance.sln).</summary>
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>The malformed-profile fixtures.</summary>
    public static string MalformedDir => Path.Combine(RepoRoot, "tests", "ImageBuilder.Tests", "Profiles", "Malformed");

    /// <summary>profiles/sites (with the cluster PKIs the sites name made first: see <see cref="DemoPki"/>).</summary>
    public static string SitesDir => Path.Combine(RepoRoot, "profiles", "sites");

    /// <summary>
    /// profiles/pki/demo, which demo-x86.yaml names as cluster.pki. It is git-ignored (it holds CA keys), so a fresh
    /// clone lacks it: it is made here as scripts/build-demo.sh makes it, with `appliance cluster init`'s code, once.
    /// </summary>
    public static string DemoPki { get; } = MakePki("demo");

    /// <summary>profiles/pki/site, which the two-node site's profiles (site-server.yaml, site-agent.yaml) name; made as <see cref="DemoPki"/>.</summary>
    public static string SitePki { get; } = MakePki("site");

    static ProfileTestFiles() => _ = (DemoPki, SitePki);

    private static string MakePki(string name)
    {
        var dir = Path.Combine(RepoRoot, "profiles", "pki", name);
        if (Appliance.Common.Pki.ClusterPkiDirectory.Missing(dir).Count == 0)
            return dir;
        Directory.CreateDirectory(Path.GetDirectoryName(dir)!);
        try
        {
            Appliance.Common.Pki.ClusterPkiDirectory.Create(dir, DateTimeOffset.UtcNow);
        }
        catch (IOException) when (Appliance.Common.Pki.ClusterPkiDirectory.Missing(dir).Count == 0)
        {
            // Another test process made it at the same moment.
        }
        return dir;
    }

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Appliance.sln")))
                return d.FullName;
        throw new InvalidOperationException("Appliance.sln not found above " + AppContext.BaseDirectory);
    }
}
