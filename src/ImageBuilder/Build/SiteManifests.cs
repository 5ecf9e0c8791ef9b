// The profile's manifests carried on the boot partition (appliance/manifests/NAME), where appliance-firstboot finds them.
using Appliance.ImageBuilder.Disk.Tree;
using Appliance.ImageBuilder.Profiles.Model;

namespace Appliance.ImageBuilder.Build;

/// <summary>
/// <c>manifests:</c> of the profile, read at build time and written to the boot partition beside site.yaml, since they
/// are per site and root-a is shared by every site of a base. appliance-firstboot copies them into the server's
/// auto-deploy directory on the first boot (src/Firstboot/Steps/ManifestsStep.cs).
/// </summary>
public static class SiteManifests
{
    /// <summary>The directory on the boot partition.</summary>
    public const string BootDirectory = "appliance/manifests";

    /// <summary>The manifests' file names and bytes, in profile order.</summary>
    /// <exception cref="UserInputException">Two manifests have the same file name.</exception>
    public static IReadOnlyList<(string Name, byte[] Bytes)> Read(SiteProfile profile, string profileFile)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var list = new List<(string, byte[])>();
        foreach (var m in profile.Manifests)
        {
            var name = Path.GetFileName(m.FullPath);
            if (!seen.Add(name))
                throw new UserInputException($"{profileFile}: manifests: two files are named {name} (they share one directory on the device)");
            list.Add((name, File.ReadAllBytes(m.FullPath)));
        }
        return list;
    }

    /// <summary>Adds the manifests to the boot partition's tree.</summary>
    public static void AddTo(FileTree boot, IReadOnlyList<(string Name, byte[] Bytes)> manifests, long mtime)
    {
        foreach (var (name, bytes) in manifests)
            boot.AddFile($"{BootDirectory}/{name}", bytes, mtime: mtime);
    }
}
