// The build pipeline: profile + content store -> root squashfs, initramfs, boot partition -> one disk image.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Appliance.ImageBuilder.Boards;
using Appliance.ImageBuilder.Boot;
using Appliance.ImageBuilder.Boot.Initramfs;
using Appliance.ImageBuilder.Cli;
using Appliance.ImageBuilder.Disk.Common;
using Appliance.ImageBuilder.Disk.Fat;
using Appliance.ImageBuilder.Disk.Image;
using Appliance.ImageBuilder.Disk.SquashFs;
using Appliance.ImageBuilder.Disk.Tree;
using Appliance.ImageBuilder.Profiles;
using Appliance.ImageBuilder.Profiles.Rendering;
using Appliance.ImageBuilder.Signing.Sbom;
using Appliance.ImageBuilder.Store;

namespace Appliance.ImageBuilder.Build;

/// <summary>
/// Builds one site's disk image. Steps: resolve the OS image for the board's platform, flatten it, add the
/// appliance payload, write root-a (squashfs) to a work file, build the initramfs, fill the boot partition
/// (bootloader, kernel, initramfs, configuration and <c>appliance/site.yaml</c>, the only site-specific
/// file), then compose boot + root-a + root-b into <c>NAME.img</c> (temporary file + rename) and write
/// <c>NAME.manifest.json</c>, then <c>NAME.cdx.json</c> (SBOM) and, with a signing key, a DSSE bundle for each of
/// the three (<see cref="BuildAttestation"/>). Disk, partition and volume identifiers derive from root-a's SHA-256, so two
/// sites from the same base share every byte outside site.yaml.
/// </summary>
public sealed class ImageBuild(Action<string> progress)
{
    /// <summary>The boot partition size: room for two slots' kernels and initramfs plus firmware.</summary>
    public const long BootPartitionSize = 256L << 20;

    /// <summary>Root slots are rounded to this unit.</summary>
    public const long SlotUnit = 64L << 20;

    /// <summary>
    /// The smallest root slot. A slot holds twice its first root (rounded up), at least this much, so
    /// later upgrades written into the other slot of the same size have room to grow.
    /// </summary>
    public const long MinSlotSize = 512L << 20;

    /// <summary>
    /// The zstd level of root-a. Level 3 writes a 400 MiB root about 20 times faster than the writer's
    /// default (15) on two cores, for an image about 10% larger; the level is part of the build's inputs.
    /// </summary>
    public const int SquashFsLevel = 3;

    private const long MiB = 1 << 20;

    /// <summary>Runs the build for an already loaded, valid profile.</summary>
    public BuildResult Run(BuildRequest request, LoadResult loaded)
    {
        var profile = loaded.Profile ?? throw new ArgumentException("the profile did not load", nameof(loaded));
        var board = profile.Target.Board ?? throw new ArgumentException("the profile names no board", nameof(loaded));
        var platform = board.Platform;
        if (board.FormatProblem(profile.Target.Format) is { } formatProblem)
            throw new UserInputException($"{request.ProfileFile}: target.format: {formatProblem}");
        var name = profile.Metadata.Name;
        Directory.CreateDirectory(request.OutputDirectory);
        var imagePath = Path.Combine(request.OutputDirectory, name + ".img");
        var manifestPath = Path.Combine(request.OutputDirectory, name + ".manifest.json");
        var sbomPath = Path.Combine(request.OutputDirectory, name + ".cdx.json");
        string[] outputs = [imagePath, manifestPath, sbomPath];

        var store = ContentStore.Open(request.StoreRoot);
        progress($"resolving OS image {profile.Os.Image} for {platform} (board {board.Name})");
        ResolvedImage os;
        try
        {
            os = store.Resolve(profile.Os.Image, platform);
        }
        catch (InvalidDataException e)
        {
            throw new UserInputException($"{request.ProfileFile}: target.board {board.Name} runs {platform}, but os.image {profile.Os.Image} does not provide it: {e.Message}");
        }
        long sde = request.SourceDateEpoch ?? CreatedOf(store, os);

        var work = Directory.CreateTempSubdirectory("appliance-build-");
        using var interruptWork = IO.InterruptCleanup.Register(work.FullName);
        try
        {
            progress("flattening the OS image");
            using var flat = store.Flatten(os, work.FullName);
            var root = FlatTreeConverter.Convert(flat, sde);
            root.ClampTimestamps(sde);
            var rootFs = new RootFs(root, $"OS image {profile.Os.Image} ({os.Manifest.Digest})");
            var kernel = KernelInfo.Find(rootFs);
            progress($"kernel {kernel.Version}");
            var packages = OsPackages(flat, profile.Os.Image, os.Manifest.Digest);

            var initramfs = new InitramfsBuilder(rootFs, kernel, sde);
            var initrdTree = initramfs.Plan(board.InitramfsModules, board.OptionalInitramfsModules);
            var initrd = InitramfsBuilder.Write(initrdTree);
            progress($"initramfs: {initramfs.Modules.Count} modules, {initrd.Length / 1024} KiB");

            string? airgap = null;
            var images = new List<ImageEntry>();
            var arch = platform.Variant is { Length: > 0 } v ? $"{platform.Architecture}{v}" : platform.Architecture;
            if (profile.Images.Count > 0)
            {
                progress($"preloading {profile.Images.Count} images into /var/lib/appliance/images/{arch}.tar");
                airgap = Path.Combine(work.FullName, $"{arch}.tar");
                store.WriteAirgapArchive(profile.Images, platform, airgap, DateTimeOffset.FromUnixTimeSeconds(sde));
                foreach (var r in profile.Images)
                    images.Add(new ImageEntry(r, store.Resolve(r, platform).Manifest.Digest));
            }

            var rootManifest = new RootManifest
            {
                Board = board.Name, Platform = platform.ToString(), OsImage = profile.Os.Image, OsDigest = os.Manifest.Digest,
                Kernel = kernel.Version, Runtime = profile.Runtime.Version ?? profile.Runtime.Image ?? "unknown",
                Images = images, InitramfsModules = initramfs.Modules, SourceDateEpoch = sde,
            };
            RootPayload.Add(root, rootManifest, airgap, arch, sde);
            var facts = new BuildFacts
            {
                ProfileName = Path.GetFileName(request.ProfileFile),
                ProfileSha256 = Convert.ToHexStringLower(SHA256.HashData(RenderedProfile(request, loaded))),
                Inputs =
                [
                    new BuildInput("os-image", profile.Os.Image, HexOf(os.Manifest.Digest)),
                    // The runtime payload as put at /usr/lib/appliance/appliance-runtime (the placeholder until the runtime is bundled).
                    new BuildInput("runtime", "appliance-runtime", Convert.ToHexStringLower(SHA256.HashData(RootPayload.Placeholder("appliance-runtime", rootManifest.Runtime)))),
                    .. images.Select(i => new BuildInput("image", i.Reference, HexOf(i.Digest))),
                ],
                Packages = packages, RuntimeVersion = rootManifest.Runtime, BuilderVersion = request.BuilderVersion, SourceDateEpoch = sde,
            };

            progress("writing root-a (squashfs)");
            var squashPath = Path.Combine(work.FullName, "root-a.squashfs");
            // A scratch file, copied into the image and deleted: no need to force it to the disk.
            long squashSize = new SquashFsBuilder(root, new SquashFsOptions { ModificationTime = sde, CompressionLevel = SquashFsLevel }).Build(squashPath, durable: false);
            var rootDigest = Sha256(squashPath, 0, squashSize);
            long slotSize = Math.Max(AlignUp(2 * squashSize, SlotUnit), MinSlotSize);
            long needed = MiB + BootPartitionSize + 2 * slotSize + MiB;
            if (needed > profile.Target.DiskSize.Bytes)
                throw new UserInputException(
                    $"{request.ProfileFile}: target.diskSize {profile.Target.DiskSize} is too small: boot ({BootPartitionSize / MiB} MiB) and two root slots " +
                    $"({slotSize / MiB} MiB each, for a {squashSize / MiB} MiB root) need {needed / MiB} MiB");

            var boot = new FileTree(sde);
            board.BootTarget.AddBootFiles(boot, new BootSlot("a", initrd, $"Appliance {rootManifest.Runtime}"), rootFs, kernel, sde);
            var siteYaml = SiteYaml(request, loaded);
            boot.AddFile("appliance/site.yaml", siteYaml, mtime: sde);

            progress($"composing {Path.GetFileName(imagePath)} ({profile.Target.DiskSize})");
            var plan = new DiskImagePlan
            {
                Table = board.PartitionTable,
                Size = profile.Target.DiskSize.Bytes,
                IdentitySeed = rootDigest,
                Partitions =
                [
                    new PartitionSpec
                    {
                        Name = "boot", Size = BootPartitionSize, Bootable = board.PartitionTable == PartitionTableKind.Mbr,
                        GptType = board.PartitionTable == PartitionTableKind.Gpt ? Disk.Gpt.GptPartitionTypes.EfiSystem : Disk.Gpt.GptPartitionTypes.MicrosoftBasicData,
                        MbrType = Disk.Mbr.MbrPartition.Fat32Lba,
                        Content = new FatPartitionContent(boot, new FatOptions { VolumeLabel = "BOOT", VolumeSerial = DerivedGuid.CreateUInt32(rootDigest, "boot-volume-serial") }),
                    },
                    new PartitionSpec { Name = "root-a", Size = slotSize, Content = new RawPartitionContent(FileContent.FromHostFile(squashPath)) },
                    PartitionSpec.Empty("root-b", sameSizeAs: "root-a"),
                ],
            };
            // From the rename of the new image until the build succeeds, an interrupt removes every output (the earlier
            // build's manifest, SBOM and bundles no longer match the new image), as a failure does below: no image is
            // left without its manifest, SBOM and signatures.
            DiskImageResult disk;
            IDisposable unfinished;
            try
            {
                disk = ImageFileStream.WriteFile(imagePath, durable: true, output => DiskImageBuilder.Build(plan, output),
                    [.. outputs.Skip(1), .. outputs.Select(BuildAttestation.BundlePath)], out unfinished);
            }
            catch (InvalidDataException e)
            {
                throw new UserInputException($"{request.ProfileFile}: the content does not fit target.diskSize {profile.Target.DiskSize}: {e.Message}");
            }

            try
            {
                foreach (var o in outputs)
                    File.Delete(BuildAttestation.BundlePath(o));
                var manifest = new BuildManifest
                {
                    Name = name, Image = Path.GetFileName(imagePath), Size = disk.Size,
                    PartitionTable = disk.Table == PartitionTableKind.Gpt ? "gpt" : "mbr",
                    Partitions = disk.Partitions.Select(p => new PartitionEntry(p.Number, p.Name, p.Offset, p.Size, p.ContentBytes,
                        p.Name == "root-b" ? null : Convert.ToHexStringLower(Sha256(imagePath, p.Offset, p.Size)))).ToList(),
                    SiteConfigSha256 = Convert.ToHexStringLower(SHA256.HashData(siteYaml)),
                    Root = rootManifest,
                };
                using (var f = new Disk.Common.AtomicFile(manifestPath))
                {
                    JsonSerializer.Serialize(f.Stream, manifest, BuildManifest.Json);
                    f.Stream.WriteByte((byte)'\n');
                    f.Commit();
                }
                var sbom = BuildAttestation.Sbom(Path.GetFileName(imagePath), facts);
                BuildAttestation.WriteFile(sbomPath, sbom);
                progress($"wrote {imagePath}, {Path.GetFileName(manifestPath)} and {Path.GetFileName(sbomPath)} ({packages.Count} packages, {images.Count} images)");
                IReadOnlyList<string> bundles = [];
                if (request.SigningKey is { } key)
                {
                    bundles = BuildAttestation.Sign(key, BuildAttestation.Provenance(facts, Path.GetFileName(sbomPath), sbom), outputs);
                    progress($"signed {string.Join(", ", outputs.Select(Path.GetFileName))} with key {key.Id}");
                }
                return new BuildResult(imagePath, manifestPath, manifest, sbomPath, bundles);
            }
            catch
            {
                foreach (var o in outputs)
                {
                    File.Delete(o);
                    File.Delete(BuildAttestation.BundlePath(o));
                }
                throw;
            }
            finally
            {
                unfinished.Dispose();
            }
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>
    /// appliance/site.yaml: the merged profile (secrets redacted), then the secrets the device needs, which
    /// appliance-firstboot moves off the boot partition on the first boot.
    /// </summary>
    public static byte[] SiteYaml(BuildRequest request, LoadResult loaded)
    {
        var sb = new StringBuilder();
        sb.Append("# Appliance site configuration, written by appliance build. The only site-specific file of the image.\n");
        sb.Append(Encoding.UTF8.GetString(RenderedProfile(request, loaded)));
        if (loaded.Secrets.ClusterToken is { } token)
        {
            sb.Append("---\n# Secrets: moved off this partition by appliance-firstboot on the first boot.\n");
            sb.Append("clusterToken: ").Append(JsonSerializer.Serialize(token)).Append('\n');
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>The merged profile (its base included) rendered as YAML with secrets redacted; its SHA-256 is the provenance's profile digest.</summary>
    public static byte[] RenderedProfile(BuildRequest request, LoadResult loaded)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(request.ProfileFile)) ?? ".";
        return Encoding.UTF8.GetBytes(new ProfileRenderer(dir).ToYaml(loaded.Profile!));
    }

    /// <summary>The installed packages of the flattened OS image, from its <c>var/lib/dpkg/status</c> (for the SBOM).</summary>
    private static IReadOnlyList<DebianPackage> OsPackages(Oci.Flatten.FlatTree flat, string osImage, string digest)
    {
        const string status = "var/lib/dpkg/status";
        var node = flat.Find(status);
        if (node is null || node.Kind != Oci.Flatten.FsNodeKind.File)
            throw new UserInputException($"OS image {osImage} ({digest}) has no /{status}: the SBOM cannot list its packages (the kit writes it)");
        byte[] bytes = [];
        if (node.Content is { } c)
        {
            bytes = new byte[c.Length];
            using var f = new FileStream(c.Path, FileMode.Open, FileAccess.Read, FileShare.Read);
            f.Position = c.Offset;
            f.ReadExactly(bytes);
        }
        using var reader = new StringReader(Encoding.UTF8.GetString(bytes));
        try
        {
            return DpkgStatus.ParseInstalled(reader, $"OS image {osImage}: /{status}");
        }
        catch (InvalidDataException e)
        {
            throw new UserInputException(e.Message);
        }
    }

    private static string HexOf(string digest) =>
        digest.StartsWith("sha256:", StringComparison.Ordinal) ? digest["sha256:".Length..]
            : throw new InvalidDataException($"digest '{digest}' is not sha256:<hex>");

    private static long CreatedOf(ContentStore store, ResolvedImage os)
    {
        var config = store.ReadBlob(os.ManifestDocument.Config!, "OS image config");
        using var doc = JsonDocument.Parse(config);
        return doc.RootElement.TryGetProperty("created", out var c) && c.ValueKind == JsonValueKind.String
               && DateTimeOffset.TryParse(c.GetString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var t)
            ? t.ToUnixTimeSeconds()
            : 0;
    }

    private static byte[] Sha256(string path, long offset, long length)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        f.Position = offset;
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buf = new byte[1 << 20];
        long left = length;
        while (left > 0)
        {
            int n = f.Read(buf, 0, (int)Math.Min(buf.Length, left));
            if (n == 0) throw new EndOfStreamException($"{path}: ends before offset {offset + length}");
            h.AppendData(buf, 0, n);
            left -= n;
        }
        return h.GetHashAndReset();
    }

    private static long AlignUp(long v, long a) => (v + a - 1) / a * a;
}
