// The build pipeline: profile + content store -> root squashfs, initramfs, boot partition -> one disk image, as named steps.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Appliance.ImageBuilder.Signing.Sbom;
using Appliance.ImageBuilder.Boards;
using Appliance.ImageBuilder.Boot;
using Appliance.ImageBuilder.Profiles;
using Appliance.ImageBuilder.Profiles.Rendering;
using Appliance.ImageBuilder.Store;

namespace Appliance.ImageBuilder.Build;

/// <summary>
/// Builds one site's disk image from a content store, in steps that each take what the one before made
/// (see Build/README.md). Plan: <see cref="OsRoot"/> (resolve and flatten the OS image, find its kernel),
/// <see cref="RootContent"/> (initramfs, preloaded images, payload), <see cref="RootImage"/> (root-a written and
/// hashed), <see cref="DiskLayout"/> (sizes checked, boot partition filled, layout). Write: <see cref="ImageOutputs"/>
/// (image hashed as written, manifest, SBOM, bundles signed from those digests), then for <c>target.format: iso</c>
/// <see cref="IsoImage"/> (NAME.iso from root-a, the boot files and the raw image, and its bundle).
/// </summary>
/// <param name="store">The content store the OS image and preloaded images come from.</param>
/// <param name="progress">Receives one line per step.</param>
/// <param name="bootTarget">The boot chain; null takes the profile board's (<see cref="Board.BootTarget"/>). Tests substitute it.</param>
public sealed class ImageBuild(ContentStore store, Action<string> progress, IBootTarget? bootTarget = null)
{
    /// <summary>Runs the build for an already loaded, valid profile.</summary>
    public BuildResult Run(BuildRequest request, LoadResult loaded)
    {
        var profile = loaded.Profile ?? throw new ArgumentException("the profile did not load", nameof(loaded));
        var board = profile.Target.Board ?? throw new ArgumentException("the profile names no board", nameof(loaded));
        if (board.FormatProblem(profile.Target.Format) is { } formatProblem)
            throw new UserInputException($"{request.ProfileFile}: target.format: {formatProblem}");
        var target = bootTarget ?? board.BootTarget;
        var kubeconfig = SiteSecrets.AdminKubeconfig(loaded, request.ApiServer, request.ProfileFile);
        Directory.CreateDirectory(request.OutputDirectory);
        var outputs = ImageOutputs.In(request.OutputDirectory, profile.Metadata.Name);

        progress($"resolving OS image {profile.Os.Image} for {board.Platform} (board {board.Name})");
        var image = OsRoot.Resolve(store, profile.Os.Image, board.Platform, request.ProfileFile, board.Name);
        long sde = request.SourceDateEpoch ?? OsRoot.CreatedOf(store, image);

        // The caller may give the work directory (the command layer does, to register it for removal on a signal);
        // then the caller owns it and removes it. Otherwise the build makes and removes its own.
        var work = request.WorkDirectory is { } given ? new DirectoryInfo(given) : Directory.CreateTempSubdirectory("appliance-build-");
        try
        {
            // The runtime release before the OS: a store without the board's platform stops the build before the long steps.
            using var runtime = RuntimeRelease.Load(store, profile.Runtime, board.Platform, request.ProfileFile, board.Name, work.FullName);
            progress(runtime is null ? "runtime: absent (runtime.absent: true)"
                : $"runtime {runtime.Version} ({runtime.Reference} for {board.Platform}: {string.Join(", ", runtime.Files.Select(f => f.Name))})");
            progress("flattening the OS image");
            using var os = OsRoot.Load(store, image, profile.Os.Image, sde, work.FullName);
            progress($"kernel {os.Kernel.Version}");
            var content = RootContent.Add(os, board, profile.Os.Image, runtime, profile.Images, store, sde, work.FullName, progress);
            var facts = Facts(request, loaded, os, runtime, content);

            progress("writing root-a (squashfs)");
            var rootA = RootImage.Write(os.Tree, sde, Path.Combine(work.FullName, "root-a.squashfs"));
            var layout = DiskLayout.Create(board, target, os, content, rootA, SiteYaml(request, loaded), profile.Target.DiskSize, sde, request.ProfileFile,
                SiteManifests.Read(profile, request.ProfileFile));

            progress($"composing {Path.GetFileName(outputs.Image)} (boot + root-a; for a disk of at least {profile.Target.DiskSize})");
            var raw = outputs.Write(layout, content.Manifest, facts, request.SigningKey, board, request.ProfileFile, progress, kubeconfig);
            return profile.Target.Format == ImageFormat.Iso
                ? IsoImage.Write(outputs, raw, layout, rootA, board, os, facts, request.SigningKey, sde, work.FullName, progress)
                : raw;
        }
        finally
        {
            if (request.WorkDirectory is null) BestEffortDelete(work);
        }
    }

    /// <summary>Removes a scratch directory; a failure here must not hide the build's own outcome.</summary>
    private static void BestEffortDelete(DirectoryInfo dir)
    {
        try { dir.Delete(recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>What the SBOM and the provenance say about this build.</summary>
    private static BuildFacts Facts(BuildRequest request, LoadResult loaded, OsRoot os, RuntimeRelease? runtime, RootContent content) => new()
    {
        ProfileName = Path.GetFileName(request.ProfileFile),
        ProfileSha256 = Convert.ToHexStringLower(SHA256.HashData(RenderedProfile(request, loaded))),
        Inputs =
        [
            new BuildInput("os-image", content.Manifest.OsImage, HexOf(os.Image.Manifest.Digest)),
            // Each file of the runtime release as put into /usr/lib/appliance/, by the SHA-256 of its bytes, with the release it came from.
            .. (runtime?.Files ?? []).Select(f => new BuildInput("runtime", f.Name, f.Sha256, $"{runtime!.Reference}@{runtime.Digest}")),
            .. content.Images.Select(i => new BuildInput("image", i.Reference, HexOf(i.Digest))),
        ],
        Packages = os.Packages, RuntimeVersion = content.Manifest.Runtime,
        RuntimeFiles = (runtime?.Files ?? []).Select(f => new OwnComponent(f.Name, content.Manifest.Runtime, f.Sha256)).ToList(),
        BuilderVersion = request.BuilderVersion,
        SourceDateEpoch = content.Manifest.SourceDateEpoch,
    };

    /// <summary>
    /// appliance/site.yaml: the merged profile (secrets redacted), then the secrets the device needs
    /// (<see cref="SiteSecrets.Document"/>), which appliance-firstboot moves off the boot partition on the first boot.
    /// </summary>
    public static byte[] SiteYaml(BuildRequest request, LoadResult loaded)
    {
        var sb = new StringBuilder();
        sb.Append("# Appliance site configuration, written by appliance build. The only site-specific file of the image.\n");
        sb.Append(Encoding.UTF8.GetString(RenderedProfile(request, loaded)));
        sb.Append(SiteSecrets.Document(loaded));
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>The merged profile (its base included) rendered as YAML with secrets redacted; its SHA-256 is the provenance's profile digest.</summary>
    public static byte[] RenderedProfile(BuildRequest request, LoadResult loaded)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(request.ProfileFile)) ?? ".";
        return Encoding.UTF8.GetBytes(new ProfileRenderer(dir).ToYaml(loaded.Profile!));
    }

    private static string HexOf(string digest) =>
        digest.StartsWith("sha256:", StringComparison.Ordinal) ? digest["sha256:".Length..]
            : throw new InvalidDataException($"digest '{digest}' is not sha256:<hex>");
}
