// Step 6: the site's manifests (carried on the boot partition) placed in the server's auto-deploy directory.
using Appliance.Common;

namespace Appliance.Firstboot.Steps;

/// <summary>
/// Copies the files of <c>appliance/manifests/</c> on the boot partition (the profile's <c>manifests:</c>, put there
/// by the build; the medium's copy when booted from the ISO) into DATA/runtime/manifests, each atomically. A server
/// only: an agent has no API server.
/// </summary>
public static class ManifestsStep
{
    /// <summary>The directory on the boot partition.</summary>
    public const string BootDir = "appliance/manifests";

    /// <summary>Runs the step; returns the files placed.</summary>
    public static IReadOnlyList<string> Run(IBootFiles boot, string role, FirstbootPaths paths, Action<string> log)
    {
        if (role != "server")
        {
            log("manifests: an agent has no auto-deploy directory; nothing to place");
            return [];
        }
        var files = boot.List(BootDir).Order(StringComparer.Ordinal).Select(n => (Name: n, Bytes: boot.ReadFile($"{BootDir}/{n}"))).ToList();
        Directory.CreateDirectory(paths.ManifestsDir);
        foreach (var (name, bytes) in files)
        {
            AtomicFile.Write(Path.Combine(paths.ManifestsDir, name), bytes);
            log($"manifests: placed {name}");
        }
        if (files.Count == 0) log("manifests: the site has none");
        return files.Select(f => f.Name).ToList();
    }
}
