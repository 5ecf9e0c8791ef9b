// Runs tests/fixtures/make-images.sh once per test run and hands out the fixture paths.

namespace Appliance.ImageBuilder.Tests.Store;

/// <summary>The busybox images made by tests/fixtures/make-images.sh (cached under ~/.cache/appliance).</summary>
public static class ImageFixtures
{
    private static readonly Lazy<(string? Dir, string Why)> Made = new(Make);

    /// <summary>The repository root (where tests/fixtures lives).</summary>
    public static string RepoRoot
    {
        get
        {
            var d = new DirectoryInfo(AppContext.BaseDirectory);
            while (d != null && !System.IO.File.Exists(Path.Combine(d.FullName, "tests", "fixtures", "make-images.sh")))
                d = d.Parent;
            return d?.FullName ?? throw new InvalidOperationException("cannot find tests/fixtures/make-images.sh above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The fixture directory; skips the calling test (with the script's error) when it cannot be built.</summary>
    public static string Dir
    {
        get
        {
            var (dir, why) = Made.Value;
            if (dir is null)
                Assert.Skip("fixture images could not be built: " + why);
            return dir!;
        }
    }

    /// <summary>Path of a fixture file.</summary>
    public static string File(string name) => Path.Combine(Dir, name);

    private static (string?, string) Make()
    {
        var script = Path.Combine(RepoRoot, "tests", "fixtures", "make-images.sh");
        ProcessResult r;
        try { r = ProcessRunner.Run("bash", [script]); }
        catch (TimeoutException e) { return (null, e.Message.Split('\n')[0]); }
        if (r.ExitCode != 0)
            return (null, $"make-images.sh exited {r.ExitCode}: {r.Error.Trim().Split('\n').LastOrDefault()}");
        return (r.Out.Trim().Split('\n').Last(), "");
    }
}
