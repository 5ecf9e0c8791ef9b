// Runs kits/pause/make-pause-image.sh and tests/fixtures/make-images.sh once per test run.
using Appliance.ClusterRuntime.Agent.Containerd;

namespace Appliance.ClusterRuntime.Tests.Agent;

/// <summary>The pause image archive from kits/pause (cached under ~/.cache/appliance).</summary>
internal static class PauseImage
{
    static readonly Lazy<(string? Path, string Why)> Made = new(() => FixtureScript.Run("kits/pause/make-pause-image.sh"));

    /// <summary>The image name containerd is configured with.</summary>
    public const string Name = ContainerdConfig.PauseImage;

    /// <summary>The oci-archive path; skips the test with the script's error when it cannot be built.</summary>
    public static string Archive => FixtureScript.OrSkip(Made.Value, "the pause image");
}

/// <summary>The busybox fixture images (tests/fixtures/README.md).</summary>
internal static class BusyboxFixtures
{
    static readonly Lazy<(string? Path, string Why)> Made = new(() => FixtureScript.Run("tests/fixtures/make-images.sh"));

    /// <summary>The fixture directory; skips the test when it cannot be built.</summary>
    public static string Dir => FixtureScript.OrSkip(Made.Value, "the busybox fixtures");
}

/// <summary>Runs a committed fixture script that prints its output path last.</summary>
internal static class FixtureScript
{
    /// <summary>The repository root.</summary>
    public static string RepoRoot
    {
        get
        {
            var d = new DirectoryInfo(AppContext.BaseDirectory);
            while (d != null && !File.Exists(Path.Combine(d.FullName, "kits", "pause", "make-pause-image.sh")))
                d = d.Parent;
            return d?.FullName ?? throw new InvalidOperationException("cannot find kits/pause above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>Runs <paramref name="script"/> (relative to the repository root).</summary>
    public static (string?, string) Run(string script)
    {
        ProcessResult r;
        try { r = ProcessRunner.Run("bash", [Path.Combine(RepoRoot, script)]); }
        catch (TimeoutException e) { return (null, e.Message.Split('\n')[0]); }
        if (r.ExitCode != 0)
            return (null, $"{script} exited {r.ExitCode}: {r.Error.Trim().Split('\n').LastOrDefault()}");
        return (r.Out.Trim().Split('\n').Last(), "");
    }

    /// <summary>The path, or skips the calling test naming <paramref name="what"/> and why.</summary>
    public static string OrSkip((string? Path, string Why) made, string what)
    {
        if (made.Path is null) Assert.Skip($"{what} could not be built: {made.Why}");
        return made.Path!;
    }
}
