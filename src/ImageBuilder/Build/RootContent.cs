// Build step 2: what the build adds to the OS root: the initramfs (for the boot partition), the preloaded images, the payload.
using Appliance.ImageBuilder.Boards;
using Appliance.ImageBuilder.Boot.Initramfs;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Store;

namespace Appliance.ImageBuilder.Build;

/// <summary>The root's additions: <see cref="Manifest"/> is what <c>/etc/appliance/build.json</c> says.</summary>
/// <param name="Manifest">The root manifest (board, OS, kernel, runtime, images, initramfs modules, epoch).</param>
/// <param name="Initramfs">The gzip-compressed initramfs for the boot partition.</param>
/// <param name="Images">The preloaded images with their manifest digests for the board's platform.</param>
public sealed record RootContent(RootManifest Manifest, byte[] Initramfs, IReadOnlyList<ImageEntry> Images)
{
    /// <summary>
    /// Builds the initramfs from <paramref name="os"/>, writes the airgap archive of <paramref name="images"/> under
    /// <paramref name="workDirectory"/>, and adds the payload (<see cref="RootPayload"/>, with <paramref name="runtime"/>'s
    /// files unless it is null) to the root tree.
    /// </summary>
    public static RootContent Add(OsRoot os, Board board, string osImage, RuntimeRelease? runtime, IReadOnlyList<string> images,
        ContentStore store, long sourceDateEpoch, string workDirectory, Action<string> progress)
    {
        var platform = board.Platform;
        var initramfs = new InitramfsBuilder(os.Fs, os.Kernel, sourceDateEpoch);
        var initrd = InitramfsBuilder.Write(initramfs.Plan(board.InitramfsModules, board.OptionalInitramfsModules));
        progress($"initramfs: {initramfs.Modules.Count} modules, {initrd.Length / 1024} KiB");

        string? airgap = null;
        var entries = new List<ImageEntry>();
        var arch = ArchName(platform);
        if (images.Count > 0)
        {
            progress($"preloading {images.Count} images into /var/lib/appliance/images/{arch}.tar");
            airgap = Path.Combine(workDirectory, $"{arch}.tar");
            store.WriteAirgapArchive(images, platform, airgap, DateTimeOffset.FromUnixTimeSeconds(sourceDateEpoch));
            foreach (var r in images)
                entries.Add(new ImageEntry(r, store.Resolve(r, platform).Manifest.Digest));
        }

        var manifest = new RootManifest
        {
            Board = board.Name, Platform = platform.ToString(), OsImage = osImage, OsDigest = os.Image.Manifest.Digest,
            Kernel = os.Kernel.Version, Runtime = runtime?.Version ?? "absent",
            RuntimeImage = runtime is null ? null : new ImageEntry(runtime.Reference, runtime.Digest), Images = entries, InitramfsModules = initramfs.Modules,
            SourceDateEpoch = sourceDateEpoch,
        };
        RootPayload.Add(os.Tree, manifest, runtime, airgap, arch, sourceDateEpoch);
        return new RootContent(manifest, initrd, entries);
    }

    /// <summary>The architecture as the airgap archive is named: <c>amd64</c>, <c>arm64</c>, <c>armv7</c>.</summary>
    public static string ArchName(Platform platform) =>
        platform.Variant is { Length: > 0 } v ? $"{platform.Architecture}{v}" : platform.Architecture;
}
