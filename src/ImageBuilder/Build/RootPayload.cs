// What the build adds to the OS tree: init table, boot scripts, the runtime release, preloaded images, build manifest.
using System.Text;
using System.Text.Json;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Build;

/// <summary>
/// Adds the appliance files to the root tree. Nothing here depends on the site: the same base gives the same root.
/// <list type="bullet">
/// <item><c>/etc/inittab</c> (busybox init) running <c>/usr/lib/appliance/rc.boot</c>;</item>
/// <item><c>/usr/lib/appliance/</c>: rc.boot, rc.shutdown and the runtime release's files (appliance-runtime,
/// appliance-firstboot and the native libraries beside them), unless the profile says the runtime is absent;</item>
/// <item><c>/var/lib/appliance/images/ARCH.tar</c>: the airgap archive of the preloaded images;</item>
/// <item><c>/etc/appliance/build.json</c> and <c>/etc/appliance/board</c>.</item>
/// </list>
/// </summary>
public static class RootPayload
{
    private const int Exec = 0b111_101_101;

    /// <summary>Adds everything to <paramref name="tree"/>.</summary>
    public static void Add(FileTree tree, RootManifest manifest, RuntimeRelease? runtime, string? airgapArchive, string archName, long mtime)
    {
        tree.AddDirectory("usr/lib/appliance", mtime: mtime);
        tree.AddFile("etc/inittab", Inittab(runtime is not null), mtime: mtime);
        tree.AddFile("usr/lib/appliance/rc.boot", Resource("rc.boot"), Exec, mtime: mtime);
        tree.AddFile("usr/lib/appliance/rc.shutdown", Resource("rc.shutdown"), Exec, mtime: mtime);
        foreach (var file in runtime?.Files ?? [])
        {
            tree.AddFile($"{RuntimeRelease.Directory}/{file.Name}", file.Content, file.Mode, mtime: mtime);
            // The two programs on the console's PATH too (`appliance-firstboot status` on a device's console).
            if (file.Name is "appliance-runtime" or "appliance-firstboot" && tree.Find($"usr/bin/{file.Name}") is null)
                tree.AddSymlink($"usr/bin/{file.Name}", $"/{RuntimeRelease.Directory}/{file.Name}", mtime: mtime);
        }
        tree.AddDirectory("var/lib/appliance/images", mtime: mtime);
        if (airgapArchive != null)
            tree.AddFile($"var/lib/appliance/images/{archName}.tar", FileContent.FromHostFile(airgapArchive), mtime: mtime);
        tree.AddDirectory("etc/appliance", mtime: mtime);
        tree.AddFile("etc/appliance/board", Encoding.UTF8.GetBytes(manifest.Board + "\n"), mtime: mtime);
        tree.AddFile("etc/appliance/build.json", JsonSerializer.SerializeToUtf8Bytes(manifest, BuildManifest.Json), mtime: mtime);
    }

    /// <summary>
    /// Build/Resources/inittab; without the runtime release (<c>runtime.absent</c>) the line that respawns
    /// appliance-firstboot is left out, since there is no program for init to start (rc.boot says so on the console).
    /// </summary>
    public static byte[] Inittab(bool withRuntime)
    {
        var text = Encoding.UTF8.GetString(Resource("inittab"));
        if (!withRuntime)
            text = string.Concat(text.Split('\n').Where(l => !l.Contains("appliance-firstboot run", StringComparison.Ordinal)).Select((l, i) => i == 0 ? l : "\n" + l));
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>A committed resource file from Build/Resources.</summary>
    public static byte[] Resource(string name)
    {
        using var s = typeof(RootPayload).Assembly.GetManifestResourceStream($"Appliance.ImageBuilder.Build.Resources.{name}")
            ?? throw new InvalidOperationException($"resource Build/Resources/{name} is missing from the assembly");
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }
}
